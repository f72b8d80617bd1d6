"""The Spark resource: session, configuration, the driver's class archive and PySpark internals."""
