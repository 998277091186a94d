package io.perceive.deploy;

import io.perceive.job.PerceiveRun;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;

/**
 * Calls PerceiveRun's own argument and settings-file parsers (package-private in flink-job), so the
 * deploy files are checked by exactly the code that reads them in the cluster.
 */
final class PerceiveRunFiles {
  private PerceiveRunFiles() {}

  static Configuration parse(List<String> args) throws Exception {
    return (Configuration) call("parse", List.class, args);
  }

  @SuppressWarnings("unchecked")
  static Map<String, String> read(Path file) throws Exception {
    return (Map<String, String>) call("readFile", Path.class, file);
  }

  private static Object call(String name, Class<?> type, Object arg) throws Exception {
    Method m = PerceiveRun.class.getDeclaredMethod(name, type);
    m.setAccessible(true);
    try {
      return m.invoke(null, arg);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof Exception ex) throw ex;
      throw e;
    }
  }
}
