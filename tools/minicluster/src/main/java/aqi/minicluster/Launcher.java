package aqi.minicluster;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.nodemanager.NodeManager;

/**
 * A Hadoop test cluster on 127.0.0.1, every daemon on a port that was free at start, in two
 * JVMs: {@code cluster WORK_DIR CONF_DIR} runs the NameNode, the DataNode and the
 * ResourceManager; {@code nodemanager WORK_DIR CONF_DIR MEMORY_MB VCORES} runs the NodeManager.
 * The NodeManager has its own JVM because each YARN web app installs the JVM-wide Guice servlet
 * pipeline: in one JVM the NodeManager's hides the ResourceManager's REST API.
 *
 * <p>The cluster writes core-site.xml, hdfs-site.xml and yarn-site.xml into CONF_DIR, then
 * CONF_DIR/cluster.properties (the addresses; its presence means "up"); the NodeManager reads
 * yarn-site.xml from there and writes CONF_DIR/nodemanager.properties once registered. Each
 * stops (the NodeManager with every container it launched) when its standard input closes or
 * on SIGTERM.
 */
public final class Launcher {
  private static final String HOST = "127.0.0.1";

  private Launcher() {}

  public static void main(String[] args) {
    try {
      if (args.length == 3 && args[0].equals("cluster")) {
        runCluster(new File(args[1]).getAbsoluteFile(), new File(args[2]).getAbsoluteFile());
      } else if (args.length == 5 && args[0].equals("nodemanager")) {
        runNodeManager(
            new File(args[1]).getAbsoluteFile(),
            new File(args[2]).getAbsoluteFile(),
            Integer.parseInt(args[3]),
            Integer.parseInt(args[4]));
      } else {
        System.err.println(
            "usage: Launcher cluster WORK_DIR CONF_DIR"
                + " | Launcher nodemanager WORK_DIR CONF_DIR MEMORY_MB VCORES");
        System.exit(2);
      }
      // The test's process holds our stdin: when it ends (or dies) the daemons go with it.
      while (System.in.read() != -1) {
        // wait for end of input
      }
      System.exit(0);
    } catch (Throwable error) {
      // The daemons' threads would keep a half-started cluster alive: exit instead.
      error.printStackTrace();
      Runtime.getRuntime().halt(1);
    }
  }

  private static void runCluster(File work, File confDir) throws Exception {
    confDir.mkdirs();
    MiniDFSCluster dfs = startDfs(work);
    String fsUri = "hdfs://" + HOST + ":" + dfs.getNameNodePort();
    String webHdfs = HOST + ":" + dfs.getNameNode().getHttpAddress().getPort();
    MiniYARNCluster yarn = startResourceManager(work, fsUri);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  quietly(yarn::stop);
                  quietly(dfs::shutdown);
                },
                "cluster-stop"));

    Configuration yarnConf = yarn.getConfig();
    Map<String, String> core = new LinkedHashMap<>();
    core.put("fs.defaultFS", fsUri);
    Map<String, String> hdfs = new LinkedHashMap<>();
    hdfs.put("dfs.replication", "1");
    hdfs.put("dfs.namenode.rpc-address", HOST + ":" + dfs.getNameNodePort());
    hdfs.put("dfs.namenode.http-address", webHdfs);
    hdfs.put("dfs.webhdfs.enabled", "true");
    writeSite(new File(confDir, "core-site.xml"), core);
    writeSite(new File(confDir, "hdfs-site.xml"), hdfs);
    // The ResourceManager's own YARN settings: clients and the NodeManager see the same
    // addresses, classpath and limits.
    Configuration clientYarn = new Configuration(false);
    for (Map.Entry<String, String> entry : yarnConf) {
      if (entry.getKey().startsWith("yarn.")) {
        clientYarn.set(entry.getKey(), entry.getValue());
      }
    }
    writeXml(new File(confDir, "yarn-site.xml"), clientYarn);

    Map<String, String> ready = new LinkedHashMap<>();
    ready.put("fs_uri", fsUri);
    ready.put("webhdfs_address", webHdfs);
    ready.put("rm_address", yarnConf.get(YarnConfiguration.RM_ADDRESS));
    ready.put("rm_webapp_address", yarnConf.get(YarnConfiguration.RM_WEBAPP_ADDRESS));
    ready.put("user", UserGroupInformation.getCurrentUser().getShortUserName());
    writeProperties(new File(confDir, "cluster.properties"), ready);
  }

  private static void runNodeManager(File work, File confDir, int memoryMb, int vcores)
      throws Exception {
    YarnConfiguration conf = new YarnConfiguration();
    conf.addResource(new Path(new File(confDir, "core-site.xml").toURI()));
    conf.addResource(new Path(new File(confDir, "yarn-site.xml").toURI()));
    File nmDir = new File(work, "nodemanager");
    conf.set(YarnConfiguration.NM_LOCAL_DIRS, new File(nmDir, "local").getPath());
    conf.set(YarnConfiguration.NM_LOG_DIRS, new File(nmDir, "logs").getPath());
    conf.set(YarnConfiguration.NM_RECOVERY_DIR, new File(nmDir, "recovery").getPath());
    conf.set("yarn.nodemanager.hostname", HOST);
    for (String key :
        new String[] {
          YarnConfiguration.NM_ADDRESS,
          YarnConfiguration.NM_LOCALIZER_ADDRESS,
          YarnConfiguration.NM_WEBAPP_ADDRESS,
          YarnConfiguration.NM_COLLECTOR_SERVICE_ADDRESS,
        }) {
      conf.set(key, HOST + ":" + freePort());
    }
    conf.setInt(YarnConfiguration.NM_PMEM_MB, memoryMb);
    conf.setInt(YarnConfiguration.NM_VCORES, vcores);
    conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
    conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
    conf.setFloat(YarnConfiguration.NM_MAX_PER_DISK_UTILIZATION_PERCENTAGE, 100.0f);
    conf.setLong(YarnConfiguration.NM_MIN_PER_DISK_FREE_SPACE_MB, 0);
    conf.setBoolean(YarnConfiguration.NM_RECOVERY_ENABLED, false);
    conf.setInt(YarnConfiguration.DEBUG_NM_DELETE_DELAY_SEC, 0);
    NodeManager nodeManager = new NodeManager();
    nodeManager.init(conf);
    nodeManager.start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> quietly(nodeManager::stop), "nm-stop"));
    Map<String, String> ready = new LinkedHashMap<>();
    ready.put("nm_webapp_address", conf.get(YarnConfiguration.NM_WEBAPP_ADDRESS));
    ready.put("memory_mb", Integer.toString(memoryMb));
    ready.put("vcores", Integer.toString(vcores));
    writeProperties(new File(confDir, "nodemanager.properties"), ready);
  }

  private static MiniDFSCluster startDfs(File work) throws IOException {
    Configuration conf = new HdfsConfiguration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(work, "dfs").getPath());
    conf.set("hadoop.tmp.dir", new File(work, "hadoop-tmp").getPath());
    conf.setBoolean("dfs.permissions.enabled", false);
    conf.setBoolean("dfs.webhdfs.enabled", true);
    MiniDFSCluster dfs =
        new MiniDFSCluster.Builder(conf)
            .nameNodePort(freePort())
            .nameNodeHttpPort(freePort())
            .numDataNodes(1)
            .format(true)
            .build();
    dfs.waitActive();
    FileSystem fs = dfs.getFileSystem();
    String user = UserGroupInformation.getCurrentUser().getShortUserName();
    fs.mkdirs(new Path("/user/" + user));
    fs.mkdirs(new Path("/tmp"));
    fs.setPermission(new Path("/tmp"), new FsPermission((short) 01777));
    return dfs;
  }

  private static MiniYARNCluster startResourceManager(File work, String fsUri) throws Exception {
    YarnConfiguration conf = new YarnConfiguration();
    conf.set("fs.defaultFS", fsUri);
    // Fixed ports, chosen here: MiniYARNCluster would otherwise advertise the machine's
    // hostname, which need not be loopback.
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_FIXED_PORTS, true);
    conf.set(YarnConfiguration.RM_HOSTNAME, HOST);
    for (String key :
        new String[] {
          YarnConfiguration.RM_ADDRESS,
          YarnConfiguration.RM_SCHEDULER_ADDRESS,
          YarnConfiguration.RM_RESOURCE_TRACKER_ADDRESS,
          YarnConfiguration.RM_ADMIN_ADDRESS,
          YarnConfiguration.RM_WEBAPP_ADDRESS,
        }) {
      conf.set(key, HOST + ":" + freePort());
    }
    // The NodeManager's web app and the ResourceManager's do not fit in one JVM (see above).
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_USE_RPC, true);
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 128);
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MAXIMUM_ALLOCATION_MB, 8192);
    // The test cluster's queues (no capacity-scheduler.xml on this classpath): `default`, and
    // `aqi` to prove a run lands in the queue its profile names.
    String queues = "yarn.scheduler.capacity.root";
    conf.set(queues + ".queues", "default,aqi");
    for (String queue : new String[] {"default", "aqi"}) {
      conf.set(queues + "." + queue + ".capacity", "50");
      conf.set(queues + "." + queue + ".maximum-capacity", "100");
    }
    // Several runs at once each hold an application master; the default 10% would queue them.
    conf.setFloat("yarn.scheduler.capacity.maximum-am-resource-percent", 1.0f);
    // One attempt: a run whose driver dies must leave a finished application, not a retry.
    conf.setInt(YarnConfiguration.RM_AM_MAX_ATTEMPTS, 1);
    conf.setBoolean(YarnConfiguration.TIMELINE_SERVICE_ENABLED, false);
    conf.setBoolean(YarnConfiguration.LOG_AGGREGATION_ENABLED, false);
    MiniYARNCluster yarn = new MiniYARNCluster("aqi-yarn", 1, 0, 1, 1);
    yarn.init(conf);
    yarn.start();
    return yarn;
  }

  private static void quietly(Runnable stop) {
    try {
      stop.run();
    } catch (RuntimeException error) {
      // Stopping during JVM shutdown: a daemon already gone is not an error worth reporting.
    }
  }

  private static void writeProperties(File file, Map<String, String> values) throws IOException {
    StringBuilder text = new StringBuilder();
    values.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
    File partial = new File(file.getPath() + ".tmp");
    Files.writeString(partial.toPath(), text.toString(), StandardCharsets.UTF_8);
    Files.move(partial.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE);
    System.out.println("READY " + file);
    System.out.flush();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
      return socket.getLocalPort();
    }
  }

  private static void writeSite(File file, Map<String, String> values) throws IOException {
    Configuration conf = new Configuration(false);
    values.forEach(conf::set);
    writeXml(file, conf);
  }

  private static void writeXml(File file, Configuration conf) throws IOException {
    try (OutputStream out = new FileOutputStream(file)) {
      conf.writeXml(out);
    }
  }
}
