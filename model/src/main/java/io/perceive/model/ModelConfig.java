package io.perceive.model;

import io.perceive.model.layers.MissingValueLayer;
import io.perceive.model.layers.MissingValueLayer.Feature;
import io.perceive.model.layers.SequenceConfig;
import io.perceive.model.sharing.SharingMode;
import io.perceive.model.wide.WideCross;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Every hyperparameter of the {@link MultiTaskModel}: typed, defaulted (DESIGN.md's sizes),
 * validated and described in one table ({@link #options()}). Persisted as string properties ({@link
 * #toProperties()} / {@link #fromProperties(Map)}) with a format version; a missing key takes its
 * default, an unknown key or a bad value is refused with the key's name in the message.
 */
public final class ModelConfig {

  /** Version of the property layout written by {@link #toProperties()}. */
  public static final int FORMAT_VERSION = 3;

  public static final String VERSION_KEY = "model.config.version";

  /** One hyperparameter: key, default, description, parser and the rule it must satisfy. */
  public static final class Option<T> {
    private final String key;
    private final T defaultValue;
    private final String description;
    private final Function<String, T> parse;
    private final Function<T, String> format;
    private final Predicate<T> valid;
    private final String rule;

    private Option(
        String key,
        T defaultValue,
        String description,
        Function<String, T> parse,
        Function<T, String> format,
        Predicate<T> valid,
        String rule) {
      this.key = key;
      this.defaultValue = defaultValue;
      this.description = description;
      this.parse = parse;
      this.format = format;
      this.valid = valid;
      this.rule = rule;
    }

    public String key() {
      return key;
    }

    public T defaultValue() {
      return defaultValue;
    }

    public String description() {
      return description;
    }

    public String defaultText() {
      return format.apply(defaultValue);
    }

    T check(T v) {
      if (v == null || !valid.test(v))
        throw new IllegalArgumentException(key + " must be " + rule + ", got " + v);
      return v;
    }
  }

  private static final Map<String, Option<?>> OPTIONS = new LinkedHashMap<>();

  private static <T> Option<T> add(Option<T> o) {
    OPTIONS.put(o.key, o);
    return o;
  }

  private static Option<Integer> intOpt(String key, int def, int min, String description) {
    return add(
        new Option<>(
            key, def, description, Integer::valueOf, String::valueOf, v -> v >= min, ">= " + min));
  }

  private static Option<Double> weightOpt(String key, double def, String description) {
    return add(
        new Option<>(
            key,
            def,
            description,
            Double::valueOf,
            String::valueOf,
            v -> Double.isFinite(v) && v >= 0,
            "finite and >= 0"));
  }

  private static Option<List<Feature>> featuresOpt(String key, String def, String description) {
    return add(
        new Option<>(
            key,
            parseFeatures(key, def),
            description,
            s -> parseFeatures(key, s),
            ModelConfig::formatFeatures,
            v -> true,
            "a feature list"));
  }

  // --- identity
  public static final Option<Long> SEED =
      add(
          new Option<>(
              "model.seed",
              42L,
              "seed of the parameter initialisation (same seed, same parameters)",
              Long::valueOf,
              String::valueOf,
              v -> true,
              "a long"));

  // --- embedding tables (rows × dim); ids hash into rows 1..rows-1, row 0 = missing
  public static final Option<Integer> ITEM_ROWS =
      intOpt("emb.item.rows", 65_536, 2, "rows of emb/item");
  public static final Option<Integer> ITEM_DIM = intOpt("emb.item.dim", 32, 1, "width of emb/item");
  public static final Option<Integer> SHOP_ROWS =
      intOpt("emb.shop.rows", 8_192, 2, "rows of emb/shop");
  public static final Option<Integer> SHOP_DIM = intOpt("emb.shop.dim", 8, 1, "width of emb/shop");
  public static final Option<Integer> BRAND_ROWS =
      intOpt("emb.brand.rows", 8_192, 2, "rows of emb/brand");
  public static final Option<Integer> BRAND_DIM =
      intOpt("emb.brand.dim", 8, 1, "width of emb/brand");
  public static final Option<Integer> CATEGORY_ROWS =
      intOpt("emb.category.rows", 1_024, 2, "rows of emb/category");
  public static final Option<Integer> CATEGORY_DIM =
      intOpt("emb.category.dim", 16, 1, "width of emb/category");
  public static final Option<Integer> BEHAVIOUR_TYPE_ROWS =
      intOpt("emb.behaviour_type.rows", 8, 2, "rows of emb/behaviour_type (codes 0..rows-2)");
  public static final Option<Integer> BEHAVIOUR_TYPE_DIM =
      intOpt("emb.behaviour_type.dim", 8, 1, "width of emb/behaviour_type");
  public static final Option<Integer> SCENE_ROWS =
      intOpt("emb.scene.rows", 16, 2, "rows of emb/scene (codes 0..rows-2)");
  public static final Option<Integer> SCENE_DIM =
      intOpt("emb.scene.dim", 4, 1, "width of emb/scene");
  public static final Option<Integer> TIME_GAP_ROWS =
      intOpt("emb.time_gap.rows", 32, 2, "rows of emb/time_gap (buckets 0..rows-2)");
  public static final Option<Integer> TIME_GAP_DIM =
      intOpt("emb.time_gap.dim", 4, 1, "width of emb/time_gap");
  public static final Option<Integer> USER_ROWS =
      intOpt("emb.user.rows", 65_536, 2, "rows of emb/user");
  public static final Option<Integer> USER_DIM = intOpt("emb.user.dim", 64, 1, "width of emb/user");
  public static final Option<Double> EMBEDDING_INIT_STD =
      add(
          new Option<>(
              "emb.init_std",
              0.05,
              "standard deviation of the normal initialisation of every embedding table",
              Double::valueOf,
              String::valueOf,
              v -> Double.isFinite(v) && v > 0,
              "finite and > 0"));

  // --- user side
  public static final Option<Integer> LSTM_HIDDEN =
      intOpt(
          "sequence.hidden", 128, 1, "property-gated LSTM hidden size H = attention output width");
  public static final Option<Integer> ATTENTION_WINDOW =
      intOpt("sequence.window", 32, 1, "behaviours in the attention window N (= training steps T)");
  public static final Option<Integer> BPTT_STEPS =
      intOpt(
          "sequence.bptt_steps",
          32,
          1,
          "how many of the last steps the gradient flows back through the LSTM (<= window)");
  public static final Option<Boolean> SEQUENCE_ENABLED =
      add(
          new Option<>(
              "sequence.enabled",
              true,
              "false = ablation: the attention half of u is zero, so the user is represented by"
                  + " the user-id embedding and profile alone (does the sequence help?)",
              ModelConfig::parseBoolean,
              String::valueOf,
              v -> true,
              "true or false"));
  public static final Option<Boolean> MISSING_VALUE_LAYER =
      add(
          new Option<>(
              "missing_value_layer.enabled",
              true,
              "false = ablation: a missing profile or item feature becomes 0 (the mean after"
                  + " standardisation) instead of the Missing Value Layer's learned fill value",
              ModelConfig::parseBoolean,
              String::valueOf,
              v -> true,
              "true or false"));
  public static final Option<Integer> USER_VECTOR =
      intOpt("user.vector", 128, 1, "width of the user vector (user tower output)");
  public static final Option<List<Feature>> PROFILE_FEATURES =
      featuresOpt(
          "user.profile_features",
          "age_bucket:standard:3:2,gender:none,power_level:standard:1:0.8,"
              + "activity_impressions:log1p,activity_clicks:log1p,activity_orders:log1p,"
              + "activity_ctr:standard:0.05:0.05",
          "continuous user profile features through the Missing Value Layer, name:none | "
              + "name:log1p | name:standard:mean:std, comma separated (may be empty); the job"
              + " reads them from the event's profile map, except activity_* statistics it"
              + " computes itself");

  // --- candidate item
  public static final Option<List<Feature>> ITEM_FEATURES =
      featuresOpt(
          "item.features",
          "price:log1p,discount:standard:0.08:0.15,log_popularity:standard:2:1.5,position:log1p,"
              + "affinity_category:none,affinity_session_category:log1p,affinity_item:log1p",
          "continuous candidate item features through the Missing Value Layer (same syntax);"
              + " the job reads price from the item's price, position from the impression's slot"
              + " (position-bias feature; serving passes the slot or 0); affinity_category,"
              + " affinity_session_category and affinity_item are computed from the user's"
              + " behaviour window (InputBuilder: share of the window in the candidate's category,"
              + " same-category behaviours in the last hour, behaviours on the same item); the"
              + " others come from the item's feature map");

  // --- sharing block
  public static final Option<SharingMode> SHARING_MODE =
      add(
          new Option<>(
              "sharing.mode",
              SharingMode.MMOE,
              "SHARED_BOTTOM | OMOE | MMOE",
              s -> SharingMode.valueOf(s.trim().toUpperCase(Locale.ROOT)),
              Enum::name,
              v -> true,
              "a sharing mode"));
  public static final Option<Integer> EXPERTS =
      intOpt("sharing.experts", 4, 2, "number of experts (OMoE, MMoE)");
  public static final Option<Integer> EXPERT_HIDDEN =
      intOpt("sharing.expert_hidden", 128, 1, "units of each single-layer ReLU expert");
  public static final Option<Integer> BOTTOM_HIDDEN =
      intOpt("sharing.bottom_hidden", 256, 1, "units of the shared-bottom ReLU layer");
  public static final Option<Integer> TOWER_HIDDEN =
      intOpt("sharing.tower_hidden", 64, 0, "units of each task tower's hidden layer (0 = none)");

  // --- tasks and losses
  public static final Option<Boolean> ESMM =
      add(
          new Option<>(
              "task.esmm",
              false,
              "ESMM: p(order) = p(click)·p(conversion), no separate order head",
              ModelConfig::parseBoolean,
              String::valueOf,
              v -> true,
              "true or false"));
  public static final Option<Boolean> INTERACTION =
      add(
          new Option<>(
              "interaction.enabled",
              true,
              "add the user-item interaction (W u) ⊙ e_item to the sharing block's input: a"
                  + " bilinear user×item term that an MLP over [u, item] learns only slowly"
                  + " (factorisation-machine / two-tower style); W u is computed once per user",
              ModelConfig::parseBoolean,
              String::valueOf,
              v -> true,
              "true or false"));
  // --- wide part (Wide & Deep, Cheng et al. 2016)
  public static final Option<Boolean> WIDE_ENABLED =
      add(
          new Option<>(
              "wide.enabled",
              true,
              "add a wide part: a linear model over hashed sparse crosses (user, item, user×category,"
                  + " …) whose per-task logit is added to the deep logit (Wide & Deep); its weights"
                  + " are the table wide/crosses of wide.buckets rows × task logits (a config of"
                  + " format version 1 or 2, written before the wide part, loads as false)",
              ModelConfig::parseBoolean,
              String::valueOf,
              v -> true,
              "true or false"));
  public static final Option<Integer> WIDE_BUCKETS =
      add(
          new Option<>(
              "wide.buckets",
              1 << 18,
              "rows of the wide part's hashed table (a power of two); docs/model-wide.md sizes it"
                  + " from the number of distinct crosses and the collision rate",
              Integer::valueOf,
              String::valueOf,
              v -> v >= 2 && Integer.bitCount(v) == 1,
              "a power of two >= 2"));
  public static final Option<List<WideCross>> WIDE_CROSSES =
      add(
          new Option<>(
              "wide.crosses",
              WideCross.parseList(
                  "user,item,category,user_category,user_shop,scene_category,"
                      + "recent_category_category"),
              "the wide part's crosses, comma separated, from: user, item, category,"
                  + " user_category, user_shop, user_brand, user_item, scene_category,"
                  + " recent_category_category (the categories of the user's newest"
                  + " wide.recent_behaviours behaviours × the candidate's category); a cross with a"
                  + " missing id is inactive for that sample. The default leaves out user_brand and"
                  + " user_item: almost every such pair occurs once (docs/model-wide.md)",
              WideCross::parseList,
              WideCross::formatList,
              v -> !v.isEmpty(),
              "a non-empty list of crosses"));
  public static final Option<Double> WIDE_LEARNING_RATE_SCALE =
      add(
          new Option<>(
              "wide.learning_rate_scale",
              1.0,
              "multiplier of the optimizer's learning rate for the wide table (the deep part keeps"
                  + " the optimizer's own)",
              Double::valueOf,
              String::valueOf,
              v -> Double.isFinite(v) && v > 0,
              "finite and > 0"));
  public static final Option<Integer> WIDE_RECENT_BEHAVIOURS =
      intOpt(
          "wide.recent_behaviours",
          4,
          1,
          "how many of the window's newest behaviours the recent_category_category cross reads");
  public static final Option<Long> WIDE_HASH_SEED =
      add(
          new Option<>(
              "wide.hash_seed",
              0x5EED_0F_3DEL,
              "seed of the hash that maps a cross to its bucket (part of the model: a snapshot"
                  + " scores with the buckets it was trained with)",
              Long::valueOf,
              String::valueOf,
              v -> true,
              "a long"));
  public static final Option<Boolean> WIDE_PER_SAMPLE_STEPS =
      add(
          new Option<>(
              "wide.per_sample_steps",
              true,
              "the optimizer steps the wide table on the minibatch's sum of per-sample gradients"
                  + " instead of their mean (the scale of per-sample online logistic regression; the"
                  + " deep part keeps the mean): a user's or item's level then moves after a few"
                  + " events, not thousands",
              ModelConfig::parseBoolean,
              String::valueOf,
              v -> true,
              "true or false"));
  public static final Option<Double> CLICK_WEIGHT =
      weightOpt("task.click.weight", 1.0, "weight of the click BCE");
  public static final Option<Double> CONVERSION_WEIGHT =
      weightOpt("task.conversion.weight", 1.0, "weight of the conversion BCE (clicked rows)");
  public static final Option<Double> ORDER_WEIGHT =
      weightOpt(
          "task.order.weight", 1.0, "weight of the order BCE (ESMM: of p(click)·p(conversion))");
  public static final Option<Double> KL_WEIGHT =
      weightOpt(
          "task.kl.weight",
          0.1,
          "weight of the symmetric KL bound between p(click)·p(conversion) and p(order); 0 = off "
              + "(must be 0 with ESMM)");
  public static final Option<Double> PAIRWISE_WEIGHT =
      weightOpt(
          "task.pairwise.weight",
          0.5,
          "weight of the pairwise logistic ranking loss on the click logit within a request");
  public static final Option<Double> PRICE_WEIGHT =
      weightOpt(
          "task.price.weight", 0.2, "weight of the price-preference softmax (user side only)");
  public static final Option<Integer> PRICE_LEVELS =
      intOpt("task.price.levels", 10, 2, "number of price levels of the price-preference task");

  private final Map<Option<?>, Object> values;

  private ModelConfig(Map<Option<?>, Object> values) {
    this.values = Collections.unmodifiableMap(values);
    validate();
  }

  /** DESIGN.md's defaults. */
  public static ModelConfig defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from this configuration. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.values.putAll(values);
    return b;
  }

  /** Every option in a stable order (for docs: Key | Default | Description). */
  public static List<Option<?>> options() {
    return List.copyOf(OPTIONS.values());
  }

  /** Every option as a markdown table: Key | Default | Description (for README and docs). */
  public static String markdownTable() {
    StringBuilder sb = new StringBuilder("| Key | Default | Description |\n| --- | --- | --- |\n");
    for (Option<?> o : OPTIONS.values())
      sb.append("| `")
          .append(o.key)
          .append("` | `")
          .append(o.defaultText())
          .append("` | ")
          .append(o.description.replace("|", "\\|"))
          .append(" |\n");
    return sb.toString();
  }

  @SuppressWarnings("unchecked")
  public <T> T get(Option<T> o) {
    return (T) values.get(o);
  }

  public long seed() {
    return get(SEED);
  }

  public SharingMode sharingMode() {
    return get(SHARING_MODE);
  }

  public boolean esmm() {
    return get(ESMM);
  }

  /** Width of the candidate item's side-info embedding e (item + shop + brand + category). */
  public int itemEmbeddingWidth() {
    return get(ITEM_DIM) + get(SHOP_DIM) + get(BRAND_DIM) + get(CATEGORY_DIM);
  }

  /** Width of the user representation u = [attention output, user vector]. */
  public int userRepresentationWidth() {
    return get(LSTM_HIDDEN) + get(USER_VECTOR);
  }

  /** Width of the attention query = [user vector, request scene embedding]. */
  public int queryWidth() {
    return get(USER_VECTOR) + get(SCENE_DIM);
  }

  public List<Feature> profileFeatures() {
    return get(PROFILE_FEATURES);
  }

  public List<Feature> itemFeatures() {
    return get(ITEM_FEATURES);
  }

  /** The properties form, including {@link #VERSION_KEY}; every option is written. */
  public Map<String, String> toProperties() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(VERSION_KEY, String.valueOf(FORMAT_VERSION));
    for (Option<?> o : OPTIONS.values()) m.put(o.key, format(o));
    return m;
  }

  private <T> String format(Option<T> o) {
    return o.format.apply(get(o));
  }

  /**
   * Parses the properties form. A missing option takes its default; a missing version means the
   * current one; an unknown key, an unknown version or an invalid value is refused.
   */
  public static ModelConfig fromProperties(Map<String, String> props) {
    String v = props.getOrDefault(VERSION_KEY, String.valueOf(FORMAT_VERSION)).trim();
    if (!v.equals("1") && !v.equals("2") && !v.equals(String.valueOf(FORMAT_VERSION)))
      throw new IllegalArgumentException(
          "model config format version "
              + v
              + " is not supported (this build reads 1, 2 and "
              + FORMAT_VERSION
              + ")");
    Builder b = builder();
    // Version 1 predates interaction.enabled: a model written then has no interaction term.
    if (v.equals("1")) b.set(INTERACTION, false);
    // Versions 1 and 2 predate the wide part: a model written then has none.
    if (!v.equals(String.valueOf(FORMAT_VERSION))) b.set(WIDE_ENABLED, false);
    for (Map.Entry<String, String> e : props.entrySet()) {
      if (e.getKey().equals(VERSION_KEY)) continue;
      Option<?> o = OPTIONS.get(e.getKey());
      if (o == null) throw new IllegalArgumentException("unknown model config key " + e.getKey());
      b.parse(o, e.getValue());
    }
    return b.build();
  }

  private void validate() {
    if (esmm() && get(KL_WEIGHT) > 0)
      throw new IllegalArgumentException(
          "task.kl.weight must be 0 with task.esmm: under ESMM p(order) is p(click)·p(conversion) "
              + "and the bound is identically 0");
    if (get(BPTT_STEPS) > get(ATTENTION_WINDOW))
      throw new IllegalArgumentException(
          "sequence.bptt_steps ("
              + get(BPTT_STEPS)
              + ") must be <= sequence.window ("
              + get(ATTENTION_WINDOW)
              + ")");
    List<String> names = new ArrayList<>();
    for (Feature f : profileFeatures()) names.add("profile " + f.name());
    for (Feature f : itemFeatures()) names.add("item " + f.name());
    if (names.size() != new java.util.HashSet<>(names).size())
      throw new IllegalArgumentException("feature names repeat: " + names);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ModelConfig c && c.toProperties().equals(toProperties());
  }

  @Override
  public int hashCode() {
    return toProperties().hashCode();
  }

  @Override
  public String toString() {
    return "ModelConfig" + toProperties();
  }

  /** Sets options, then validates everything together in {@link #build()}. */
  public static final class Builder {
    private final Map<Option<?>, Object> values = new LinkedHashMap<>();

    private Builder() {
      for (Option<?> o : OPTIONS.values()) values.put(o, o.defaultValue);
    }

    public <T> Builder set(Option<T> o, T value) {
      Objects.requireNonNull(o);
      values.put(o, o.check(value));
      return this;
    }

    <T> void parse(Option<T> o, String text) {
      T v;
      try {
        v = o.parse.apply(text.trim());
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            o.key + ": cannot parse '" + text + "' (" + e.getMessage() + ")", e);
      }
      set(o, v);
    }

    public ModelConfig build() {
      return new ModelConfig(new LinkedHashMap<>(values));
    }
  }

  private static boolean parseBoolean(String s) {
    if (s.equalsIgnoreCase("true")) return true;
    if (s.equalsIgnoreCase("false")) return false;
    throw new IllegalArgumentException("not a boolean: " + s);
  }

  static List<Feature> parseFeatures(String key, String s) {
    List<Feature> r = new ArrayList<>();
    if (s.isBlank()) return List.of();
    for (String part : s.split(",")) {
      String[] f = part.trim().split(":");
      try {
        Feature ft =
            switch (f[1].toLowerCase(Locale.ROOT)) {
              case "none" -> {
                if (f.length != 2) throw new IllegalArgumentException("expected name:none");
                yield Feature.raw(f[0]);
              }
              case "log1p" -> {
                if (f.length != 2) throw new IllegalArgumentException("expected name:log1p");
                yield Feature.log1p(f[0]);
              }
              case "standard" -> {
                if (f.length != 4)
                  throw new IllegalArgumentException("expected name:standard:mean:std");
                yield Feature.standard(f[0], Double.parseDouble(f[2]), Double.parseDouble(f[3]));
              }
              default -> throw new IllegalArgumentException("unknown normalisation " + f[1]);
            };
        if (ft.name().isEmpty()) throw new IllegalArgumentException("empty feature name");
        r.add(ft);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            key + ": bad feature '" + part.trim() + "': " + e.getMessage(), e);
      }
    }
    return List.copyOf(r);
  }

  static String formatFeatures(List<Feature> fs) {
    StringBuilder sb = new StringBuilder();
    for (Feature f : fs) {
      if (sb.length() > 0) sb.append(',');
      sb.append(f.name()).append(':');
      switch (f.normalisation()) {
        case NONE -> sb.append("none");
        case LOG1P -> sb.append("log1p");
        case STANDARD -> sb.append("standard:").append(f.mean()).append(':').append(f.std());
      }
    }
    return sb.toString();
  }

  /** The behaviour sequence encoder's configuration (tables shared with the candidate item). */
  public SequenceConfig sequenceConfig() {
    return new SequenceConfig(
        new SequenceConfig.TableSpec(MultiTaskModel.ITEM_TABLE, get(ITEM_ROWS), get(ITEM_DIM)),
        new SequenceConfig.TableSpec(MultiTaskModel.SHOP_TABLE, get(SHOP_ROWS), get(SHOP_DIM)),
        new SequenceConfig.TableSpec(MultiTaskModel.BRAND_TABLE, get(BRAND_ROWS), get(BRAND_DIM)),
        new SequenceConfig.TableSpec(
            MultiTaskModel.CATEGORY_TABLE, get(CATEGORY_ROWS), get(CATEGORY_DIM)),
        new SequenceConfig.TableSpec(
            MultiTaskModel.BEHAVIOUR_TYPE_TABLE, get(BEHAVIOUR_TYPE_ROWS), get(BEHAVIOUR_TYPE_DIM)),
        new SequenceConfig.TableSpec(MultiTaskModel.SCENE_TABLE, get(SCENE_ROWS), get(SCENE_DIM)),
        new SequenceConfig.TableSpec(
            MultiTaskModel.TIME_GAP_TABLE, get(TIME_GAP_ROWS), get(TIME_GAP_DIM)),
        get(LSTM_HIDDEN),
        get(ATTENTION_WINDOW),
        queryWidth(),
        get(BPTT_STEPS),
        "lstm",
        "attention");
  }

  /** The MVL of the user profile features. */
  MissingValueLayer profileLayer() {
    return new MissingValueLayer("profile", profileFeatures(), get(MISSING_VALUE_LAYER));
  }

  /** The MVL of the candidate item's continuous features. */
  MissingValueLayer itemFeatureLayer() {
    return new MissingValueLayer("item_features", itemFeatures(), get(MISSING_VALUE_LAYER));
  }
}
