"""Bronze layer: hourly Open-Meteo air quality, as received, in `bronze.bronze_raw`."""

import functools
from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
from pyspark.sql import DataFrame

from aqi_assets.catalog.registry import BRONZE_RAW, asset_args
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.config.reference import Location
from aqi_assets.ingest.final_errors import no_retry_for_answer_faults
from aqi_assets.ingest.open_days_sensor import MODEL_RUN_ENTRY, MODEL_RUN_TAG, model_run_entry
from aqi_assets.quality.metadata import utc_now
from aqi_assets.quality.publish import publish_window
from aqi_assets.transforms.bronze_rows import bronze_frame, payload_frame
from aqi_assets.transforms.fetch_flags import with_fetch_flags
from resources.open_meteo.client import FetchResult, OpenMeteoError, OpenMeteoResource
from resources.open_meteo.model_run import answers_model_run
from resources.spark.spark_resource import SparkIcebergResource

# Not for the API: its client is the one retry loop (transient failures, within a deadline,
# 429s by their reason), so every Open-Meteo error reaching the asset is final; nor for an answer
# Spark cannot read (final_errors.py). Left: what may pass, e.g. a lost executor.
API_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)


def fetch_or_fail(
    context: dg.AssetExecutionContext,
    open_meteo: OpenMeteoResource,
    locations: list[Location],
    first: date,
    last: date,
    refresh: bool | None = None,
) -> Iterator[FetchResult]:
    """The range's answers, request by request, after logging the plan they follow.

    Open-Meteo errors fail the step without a retry: the client already retried what a retry
    can fix, and a spent budget or a passed deadline only gets worse by retrying.
    """
    try:
        # Planning reads the budget ledger, whose faults are final too.
        plan = open_meteo.plan(locations, first, last, refresh)
        context.log.info(f"Open-Meteo fetch plan:\n{plan.describe()}")
        yield from open_meteo.fetch_requests(locations, first, last, plan)
    except OpenMeteoError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None


def build_bronze_raw(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The bronze asset over `partitions_def`."""

    @dg.asset(
        **asset_args(BRONZE_RAW, partitions_def),
        retry_policy=API_RETRY_POLICY,
        description=(
            "Hourly air quality per location as Open-Meteo returned it (all variables, nulls kept), "
            "with ingest time, source URL (no secrets), batch id and a row fingerprint. "
            "Each run replaces exactly the days of its range in one Iceberg commit."
        ),
    )
    def bronze_raw(
        context: dg.AssetExecutionContext,
        spark: SparkIcebergResource,
        open_meteo: OpenMeteoResource,
        pipeline: PipelineConfig,
    ) -> dg.MaterializeResult:
        window = context.partition_time_window
        start, end = window.start.date(), window.end.date()
        locations = pipeline.locations()
        # Each answer goes into Spark as it arrives: the run worker holds one request's answer,
        # not the whole range's.
        payloads, api_calls, weighted = [], 0, 0.0
        last = end - timedelta(days=1)
        model_run = answers_model_run(open_meteo.base_url, open_meteo.public_base_url, context.log)
        fetched_at = []
        # The open-days sensor's runs are the hourly refresh: they may spend the reserve a
        # backfill leaves; other runs are judged by their days.
        refresh = True if MODEL_RUN_TAG in context.run.tags else None
        for answer in fetch_or_fail(context, open_meteo, locations, start, last, refresh):
            payloads.append(payload_frame(spark.spark_session, answer.items))
            api_calls += answer.api_calls
            weighted += answer.weighted_calls
            fetched_at.append(answer.fetched_at or utc_now())
        # Spark reads the answers here (lazily, at the write): what fails on them is final.
        with no_retry_for_answer_faults("Writing bronze_raw"):
            frame = bronze_frame(
                functools.reduce(DataFrame.union, payloads),
                utc_now(),
                batch_id=context.run_id,
                variables=open_meteo.hourly_variables,
            )
            # The first answer's instant: an hour after it is a forecast in every answer of the run.
            frame = with_fetch_flags(frame, min(fetched_at), model_run and model_run.initialised_at)
            return publish_window(
                spark,
                BRONZE_RAW,
                frame,
                start,
                end,
                context=context,
                api_calls=api_calls,
                weighted_calls=round(weighted, 1),
                locations=len(locations),
                **{MODEL_RUN_ENTRY: model_run_entry(model_run)},
            )

    return bronze_raw
