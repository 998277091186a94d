package io.perceive.deploy;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The project's Kafka topics as {@code deploy/kafka/topics.properties} defines them: for each name
 * in {@code topics}, {@code <name>.partitions}, {@code <name>.replication-factor} and any number of
 * {@code <name>.config.<topic config>} entries. Validated on load, with the line's key in every
 * error.
 */
public record TopicPlan(List<Topic> topics) {

  /** One topic: name, partitions, replication factor, topic-level configs. */
  public record Topic(
      String name, int partitions, short replicationFactor, Map<String, String> configs) {
    public Topic {
      if (name == null || !name.matches("[a-zA-Z0-9._-]{1,249}"))
        throw new IllegalArgumentException("invalid topic name '" + name + "'");
      if (partitions < 1) throw new IllegalArgumentException(name + ".partitions must be >= 1");
      if (replicationFactor < 1)
        throw new IllegalArgumentException(name + ".replication-factor must be >= 1");
      configs = Map.copyOf(configs);
    }
  }

  public TopicPlan {
    topics = List.copyOf(topics);
  }

  public static TopicPlan load(Path file) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    }
    try {
      return parse(p);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  public static TopicPlan parse(Properties p) {
    String names = p.getProperty("topics");
    if (names == null || names.isBlank())
      throw new IllegalArgumentException("'topics' (comma-separated names) is missing");
    List<Topic> topics = new ArrayList<>();
    List<String> known = new ArrayList<>(List.of("topics"));
    for (String raw : names.split(",")) {
      String name = raw.strip();
      int partitions = intValue(p, name + ".partitions");
      int rf = intValue(p, name + ".replication-factor");
      if (rf > Short.MAX_VALUE)
        throw new IllegalArgumentException(name + ".replication-factor is too large");
      Map<String, String> configs = new TreeMap<>();
      String prefix = name + ".config.";
      for (String key : p.stringPropertyNames())
        if (key.startsWith(prefix))
          configs.put(key.substring(prefix.length()), p.getProperty(key).strip());
      topics.add(new Topic(name, partitions, (short) rf, configs));
      known.add(name + ".");
    }
    for (String key : p.stringPropertyNames())
      if (known.stream().noneMatch(k -> k.equals(key) || (k.endsWith(".") && key.startsWith(k))))
        throw new IllegalArgumentException(
            "key '" + key + "' belongs to no topic listed in 'topics'");
    return new TopicPlan(topics);
  }

  private static int intValue(Properties p, String key) {
    String v = p.getProperty(key);
    if (v == null) throw new IllegalArgumentException("'" + key + "' is missing");
    try {
      return Integer.parseInt(v.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + key + "' must be an integer, got '" + v + "'");
    }
  }

  /** The same plan with every replication factor replaced (a one-broker cluster needs 1). */
  public TopicPlan withReplicationFactor(short rf) {
    List<Topic> t = new ArrayList<>();
    for (Topic x : topics) {
      Map<String, String> c = new LinkedHashMap<>(x.configs());
      // min.insync.replicas above the replication factor would make every write fail
      if (c.containsKey("min.insync.replicas")
          && Integer.parseInt(c.get("min.insync.replicas")) > rf)
        c.put("min.insync.replicas", String.valueOf(rf));
      t.add(new Topic(x.name(), x.partitions(), rf, c));
    }
    return new TopicPlan(t);
  }

  public Topic topic(String name) {
    return topics.stream()
        .filter(t -> t.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no topic '" + name + "' in the plan"));
  }
}
