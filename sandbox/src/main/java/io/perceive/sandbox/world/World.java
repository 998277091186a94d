package io.perceive.sandbox.world;

import io.perceive.schemas.EventType;
import io.perceive.schemas.Item;
import io.perceive.schemas.Scenes;
import io.perceive.schemas.TruthRecord;
import io.perceive.schemas.UserEvent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * A synthetic shop with known truth: users with drifting long-term interests, short session intents
 * and a purchasing-power level; items with shop, brand, category and a price distribution per
 * category; requests in scenes showing several items; clicks with position bias; carts and orders
 * after clicks with realistic delays; missing prices (not at random); a few duplicate and late
 * events.
 *
 * <p>For every impression the generator knows P(click), P(order | click) and P(order) and hands
 * them to a truth sink (never into the events), so an evaluation can compute the oracle AUC. Labels
 * are drawn from exactly these probabilities. The click logit is
 *
 * <pre>
 *   click_bias + w_long * &lt;interest_u(t), z_i&gt; + w_session * &lt;intent_session, z_i&gt; + quality_i
 *     + 0.8 * discount_i + 0.4 * price_fit(u, i) + scene offset - position_bias * ln(1 + position)
 * </pre>
 *
 * with {@code w_session = 3 * session_intent_strength} and {@code w_long = 2.5 * (1 - s / 2)}: the
 * session term is what recent behaviour reveals (the LSTM's signal), the long-term term what a user
 * embedding can learn. The conversion logit is {@code conversion_bias + c * core + (1 - c) * (1.5 *
 * price_fit + conversion_quality_i)}, {@code c = click_order_coupling}, {@code core} the interest
 * part of the click logit. Deterministic for a given {@link WorldConfig}.
 */
public final class World {
  private static final long SECOND = 1000L;
  private static final long MINUTE = 60 * SECOND;
  private static final long HOUR = 60 * MINUTE;
  private static final long DAY = 24 * HOUR;

  private final WorldConfig config;

  public World(WorldConfig config) {
    this.config = config;
  }

  public WorldConfig config() {
    return config;
  }

  /** A fresh, lazily generated stream of this world's events; truth is discarded. */
  public Stream events() {
    return new Stream(config, truth -> {});
  }

  /**
   * A fresh, lazily generated stream of this world's events. {@code truthSink} receives one {@link
   * TruthRecord} per impression when that impression is delivered (not for its duplicates).
   */
  public Stream events(Consumer<TruthRecord> truthSink) {
    return new Stream(config, truthSink);
  }

  /** The delivered events in delivery order, with counters of what was delivered. */
  public static final class Stream implements Iterator<UserEvent> {
    private final Generator generator;
    private final Map<EventType, Long> delivered = new EnumMap<>(EventType.class);
    private long total;

    private Stream(WorldConfig config, Consumer<TruthRecord> truthSink) {
      this.generator = new Generator(config, truthSink);
      for (EventType type : EventType.values()) {
        delivered.put(type, 0L);
      }
    }

    @Override
    public boolean hasNext() {
      return total < generator.config.events;
    }

    @Override
    public UserEvent next() {
      if (!hasNext()) {
        throw new NoSuchElementException(
            "the world's " + generator.config.events + " events are all delivered");
      }
      UserEvent event = generator.deliver();
      total++;
      delivered.merge(event.getType(), 1L, Long::sum);
      return event;
    }

    /** Events delivered so far, duplicates included. */
    public long delivered() {
      return total;
    }

    /** Events of {@code type} delivered so far, duplicates included. */
    public long delivered(EventType type) {
      return delivered.get(type);
    }

    /** Duplicate deliveries so far. */
    public long duplicates() {
      return generator.duplicates;
    }

    /** Events delivered after an event with a later event time, so far. */
    public long late() {
      return generator.late;
    }
  }

  /** One generated event waiting for delivery. */
  private static final class Pending {
    final UserEvent event;
    final TruthRecord truth; // impressions only, null for duplicates
    final long time;
    final long sequence;
    long deliverAt;
    boolean duplicate;

    Pending(UserEvent event, TruthRecord truth, long sequence) {
      this.event = event;
      this.truth = truth;
      this.time = event.getEventTimeMs();
      this.sequence = sequence;
    }
  }

  /** The simulation: catalogue, users, sessions, and the delivery stage. */
  private static final class Generator {
    final WorldConfig config;
    final Consumer<TruthRecord> truthSink;
    final SplittableRandom random;
    final int dim;

    // catalogue
    final double[][] categoryDirection;
    final double[] categoryLogPrice;
    final double[] categoryPopularityCdf;
    final int[][] itemsOfCategory;
    final double[][] itemPopularityCdfOfCategory;
    final int[] itemCategory;
    final long[] itemShop;
    final long[] itemBrand;
    final double[] itemPrice;
    final double[][] itemDirection;
    final double[] itemQuality;
    final double[] itemConversionQuality;
    final double[] itemDiscount;
    final double[] itemLogPopularity;
    final double[] shopMissingFactor;

    // users
    final double[][] interest;
    final int[][] favouriteCategories;
    final int[] powerLevel;
    final double[] activityCdf;
    final Map<String, Double>[] profile;
    final long[] lastTouchMs;
    final long[] lastSessionEndMs;
    final int[] lastIntent;

    // time and identities
    final double meanSessionGapMs;
    long nextSessionStartMs;
    long eventSequence;
    long requestSequence;

    final PriorityQueue<Pending> inOrder =
        new PriorityQueue<>(
            Comparator.<Pending>comparingLong(p -> p.time)
                .thenComparingInt(p -> p.event.getType().ordinal())
                .thenComparingLong(p -> p.sequence));
    final PriorityQueue<Pending> delayed =
        new PriorityQueue<>(
            Comparator.<Pending>comparingLong(p -> p.deliverAt).thenComparingLong(p -> p.sequence));
    Pending held;
    long maxDeliveredTime = Long.MIN_VALUE;
    long duplicates;
    long late;

    @SuppressWarnings("unchecked")
    Generator(WorldConfig config, Consumer<TruthRecord> truthSink) {
      this.config = config;
      this.truthSink = truthSink;
      this.random = new SplittableRandom(config.seed);
      this.dim = config.latentDim;

      int categories = config.categories;
      categoryDirection = new double[categories][];
      categoryLogPrice = new double[categories];
      double[] categoryWeight = new double[categories];
      for (int c = 0; c < categories; c++) {
        categoryDirection[c] = unitGaussian();
        categoryLogPrice[c] = Math.log(5) + random.nextDouble() * (Math.log(300) - Math.log(5));
        categoryWeight[c] = 1.0 / Math.pow(c + 1, 0.8);
      }
      categoryPopularityCdf = cdf(categoryWeight);

      int items = config.items;
      itemCategory = new int[items];
      itemShop = new long[items];
      itemBrand = new long[items];
      itemPrice = new double[items];
      itemDirection = new double[items][];
      itemQuality = new double[items];
      itemConversionQuality = new double[items];
      itemDiscount = new double[items];
      itemLogPopularity = new double[items];
      double[] shopCdf = cdf(zipfWeights(config.shops, 1.0));
      int brandsPerCategory = Math.max(1, config.brands / categories);
      List<List<Integer>> members = new ArrayList<>();
      for (int c = 0; c < categories; c++) {
        members.add(new ArrayList<>());
      }
      for (int i = 0; i < items; i++) {
        // every category gets at least one item, the rest follow category popularity
        int c = i < categories ? i : sample(categoryPopularityCdf);
        itemCategory[i] = c;
        members.get(c).add(i);
        itemShop[i] = sample(shopCdf);
        itemBrand[i] =
            ((long) c * brandsPerCategory + random.nextInt(brandsPerCategory)) % config.brands;
        itemPrice[i] =
            Math.round(Math.exp(categoryLogPrice[c] + 0.5 * random.nextGaussian()) * 100) / 100.0;
        double[] direction = unitGaussian();
        double[] mixed = new double[dim];
        for (int d = 0; d < dim; d++) {
          mixed[d] = categoryDirection[c][d] + 0.5 * direction[d];
        }
        itemDirection[i] = normalize(mixed);
        itemQuality[i] = 0.4 * random.nextGaussian();
        itemConversionQuality[i] = 0.5 * random.nextGaussian();
        itemDiscount[i] = random.nextDouble() < 0.3 ? 0.05 + 0.45 * random.nextDouble() : 0.0;
      }
      itemsOfCategory = new int[categories][];
      itemPopularityCdfOfCategory = new double[categories][];
      for (int c = 0; c < categories; c++) {
        List<Integer> list = members.get(c);
        Collections.shuffle(list, new java.util.Random(random.nextLong()));
        itemsOfCategory[c] = list.stream().mapToInt(Integer::intValue).toArray();
        double[] weights = zipfWeights(list.size(), 0.7);
        itemPopularityCdfOfCategory[c] = cdf(weights);
        for (int k = 0; k < list.size(); k++) {
          itemLogPopularity[list.get(k)] = Math.log1p(1000 * weights[k] * categoryWeight[c]);
        }
      }
      // Some shops rarely send prices (factor 2.5), most usually do: missingness is not at random.
      shopMissingFactor = new double[config.shops];
      for (int s = 0; s < config.shops; s++) {
        shopMissingFactor[s] = random.nextDouble() < 0.3 ? 2.5 : 0.25 / 0.7;
      }

      int users = config.users;
      interest = new double[users][];
      favouriteCategories = new int[users][];
      powerLevel = new int[users];
      profile = new Map[users];
      double[] activity = new double[users];
      lastTouchMs = new long[users];
      lastSessionEndMs = new long[users];
      lastIntent = new int[users];
      long start = config.startTime.toEpochMilli();
      for (int u = 0; u < users; u++) {
        int favourites = Math.min(categories, 2 + random.nextInt(2));
        favouriteCategories[u] = new int[favourites];
        double[] sum = new double[dim];
        for (int f = 0; f < favourites; f++) {
          int c = sample(categoryPopularityCdf);
          favouriteCategories[u][f] = c;
          double weight = 1.0 / (f + 1);
          for (int d = 0; d < dim; d++) {
            sum[d] += weight * categoryDirection[c][d];
          }
        }
        double[] noise = unitGaussian();
        for (int d = 0; d < dim; d++) {
          sum[d] += 0.3 * noise[d];
        }
        interest[u] = normalize(sum);
        double level = random.nextDouble();
        powerLevel[u] = level < 0.4 ? 0 : level < 0.8 ? 1 : 2;
        activity[u] = Math.exp(random.nextGaussian());
        profile[u] = makeProfile(powerLevel[u]);
        lastTouchMs[u] = start;
        lastSessionEndMs[u] = Long.MIN_VALUE / 2;
        lastIntent[u] = -1;
      }
      activityCdf = cdf(activity);

      double eventsPerSession = config.requestsPerSession * config.itemsPerRequest * 1.12;
      double sessions = Math.max(1, config.events / eventsPerSession);
      meanSessionGapMs = config.days * DAY / sessions;
      nextSessionStartMs = start;
    }

    private Map<String, Double> makeProfile(int level) {
      Map<String, Double> features = new LinkedHashMap<>();
      // Boxed on purpose: a null value means "missing" in the profile map.
      Double age = random.nextDouble() < 0.1 ? null : Double.valueOf(random.nextInt(7));
      Double gender = random.nextDouble() < 0.15 ? null : Double.valueOf(random.nextInt(2));
      double reported = random.nextDouble();
      Double power = null;
      if (reported < 0.7) {
        power = (double) level;
      } else if (reported < 0.9) {
        power = (double) Math.max(0, Math.min(2, level + (random.nextBoolean() ? 1 : -1)));
      }
      features.put("age_bucket", age);
      features.put("gender", gender);
      features.put("power_level", power);
      return Collections.unmodifiableMap(features);
    }

    // ---- delivery: in-order stream -> late / duplicate deliveries -------------------------------

    UserEvent deliver() {
      while (true) {
        if (held == null) {
          held = nextInOrder();
        }
        Pending delayedNext = delayed.peek();
        Pending chosen;
        if (delayedNext != null && delayedNext.deliverAt <= held.time) {
          chosen = delayed.poll();
        } else {
          chosen = held;
          held = null;
          if (random.nextDouble() < config.outOfOrderRate) {
            chosen.deliverAt =
                chosen.time + 1 + random.nextLong(config.maxDeliveryDelaySeconds * SECOND);
            delayed.add(chosen);
            continue;
          }
        }
        if (chosen.time < maxDeliveredTime) {
          late++;
        }
        maxDeliveredTime = Math.max(maxDeliveredTime, chosen.time);
        if (chosen.truth != null) {
          truthSink.accept(chosen.truth);
        }
        if (!chosen.duplicate && random.nextDouble() < config.duplicateRate) {
          scheduleDuplicate(chosen);
        }
        return chosen.event;
      }
    }

    private void scheduleDuplicate(Pending original) {
      Pending copy =
          new Pending(UserEvent.newBuilder(original.event).build(), null, eventSequence++);
      copy.duplicate = true;
      copy.deliverAt = original.time + random.nextLong(config.maxDeliveryDelaySeconds * SECOND);
      delayed.add(copy);
      duplicates++;
    }

    private Pending nextInOrder() {
      // Every session generated later starts at >= nextSessionStartMs and all its events follow its
      // start, so a pending event before that time can be released in event-time order.
      while (inOrder.isEmpty() || inOrder.peek().time >= nextSessionStartMs) {
        generateSession(nextSessionStartMs);
        nextSessionStartMs += 1 + (long) (random.nextExponential() * meanSessionGapMs);
      }
      return inOrder.poll();
    }

    // ---- one session of one user
    // ------------------------------------------------------------------

    private void generateSession(long startMs) {
      int user = sample(activityCdf);
      drift(user, startMs);
      int intent =
          lastIntent[user] >= 0
                  && startMs - lastSessionEndMs[user] < 2 * HOUR
                  && random.nextDouble() < 0.5
              ? lastIntent[user]
              : sampleIntent(user);
      int requests = 1 + geometric(config.requestsPerSession - 1);
      long time = startMs;
      for (int r = 0; r < requests; r++) {
        if (r > 0 && random.nextDouble() < 0.15) {
          intent = sampleIntent(user);
        }
        double sceneDraw = random.nextDouble();
        String scene =
            sceneDraw < 0.4 ? Scenes.SEARCH : sceneDraw < 0.85 ? Scenes.RECOMMEND : Scenes.ADS;
        long requestId = ++requestSequence;
        int[] shown = candidates(user, intent, scene);
        for (int position = 0; position < shown.length; position++) {
          impression(user, intent, scene, requestId, position, shown[position], time);
        }
        time += 5 * SECOND + (long) (random.nextExponential() * 40 * SECOND);
      }
      lastSessionEndMs[user] = time;
      lastIntent[user] = intent;
    }

    private void impression(
        int user, int intent, String scene, long requestId, int position, int item, long time) {
      double s = config.sessionIntentStrength;
      double longWeight = 2.5 * (1 - 0.5 * s);
      double sessionWeight = 3.0 * s;
      double core =
          longWeight * dot(interest[user], itemDirection[item])
              + sessionWeight * dot(categoryDirection[intent], itemDirection[item])
              + itemQuality[item];
      int category = itemCategory[item];
      double preferredLogPrice = categoryLogPrice[category] + 0.6 * (powerLevel[user] - 1);
      double priceFit = 0.6 - Math.abs(Math.log(itemPrice[item]) - preferredLogPrice);
      double sceneOffset =
          scene.equals(Scenes.SEARCH) ? 0.3 : scene.equals(Scenes.ADS) ? -0.5 : 0.0;
      double clickLogit =
          config.clickBias
              + core
              + 0.8 * itemDiscount[item]
              + 0.4 * priceFit
              + sceneOffset
              - config.positionBias * Math.log1p(position);
      double c = config.clickOrderCoupling;
      double conversionLogit =
          config.conversionBias
              + c * core
              + (1 - c) * (1.5 * priceFit + itemConversionQuality[item]);
      double pClick = sigmoid(clickLogit);
      double pConversion = sigmoid(conversionLogit);
      boolean clicked = random.nextDouble() < pClick;
      // Cart is the step between click and order: P(cart | click) >= P(order | click), and
      // P(order | cart) = pConversion / pCart, so P(order | click) = pConversion exactly.
      double pCart = Math.min(1.0, 0.1 + 1.5 * pConversion);
      boolean carted = clicked && random.nextDouble() < pCart;
      boolean ordered = carted && random.nextDouble() < pConversion / pCart;

      Item shown = itemRecord(item);
      UserEvent impression =
          event(user, EventType.IMPRESSION, time, requestId, position, scene, shown);
      TruthRecord truth =
          TruthRecord.newBuilder()
              .setImpressionEventId(impression.getEventId())
              .setUserId(user)
              .setRequestId(requestId)
              .setItemId(item)
              .setEventTimeMs(time)
              .setPClick(pClick)
              .setPConversion(pConversion)
              .setPOrder(pClick * pConversion)
              .setClicked(clicked)
              .setOrdered(ordered)
              .build();
      inOrder.add(new Pending(impression, truth, eventSequence));
      if (!clicked) {
        return;
      }
      long clickTime =
          time + SECOND + Math.min(5 * MINUTE, (long) (random.nextExponential() * 12 * SECOND));
      inOrder.add(
          pending(event(user, EventType.CLICK, clickTime, requestId, position, scene, shown)));
      if (!carted) {
        return;
      }
      long cartTime =
          clickTime
              + 5 * SECOND
              + Math.min(30 * MINUTE, (long) (random.nextExponential() * 90 * SECOND));
      inOrder.add(
          pending(event(user, EventType.CART, cartTime, requestId, position, scene, shown)));
      if (!ordered) {
        return;
      }
      long orderDelay = (long) (10 * MINUTE * Math.exp(1.2 * random.nextGaussian()));
      long orderTime = cartTime + SECOND + Math.min(24 * HOUR, orderDelay);
      UserEvent order = event(user, EventType.ORDER, orderTime, requestId, position, scene, shown);
      int quantity = 1 + geometric(0.2);
      order.setQuantity(quantity);
      order.setOrderAmount(Math.round(itemPrice[item] * quantity * 100) / 100.0);
      inOrder.add(pending(order));
    }

    private Pending pending(UserEvent event) {
      return new Pending(event, null, eventSequence);
    }

    private UserEvent event(
        int user,
        EventType type,
        long time,
        long requestId,
        int position,
        String scene,
        Item item) {
      long sequence = eventSequence++;
      return UserEvent.newBuilder()
          .setEventId("w" + config.seed + "-" + sequence)
          .setUserId(user)
          .setType(type)
          .setEventTimeMs(time)
          .setRequestId(requestId)
          .setPosition(position)
          .setScene(scene)
          .setItem(item)
          .setProfile(profile[user])
          .setOrderAmount(null)
          .setQuantity(null)
          .build();
    }

    private Item itemRecord(int item) {
      int category = itemCategory[item];
      boolean expensive = itemPrice[item] > 2 * Math.exp(categoryLogPrice[category]);
      double missing =
          config.priceMissingRate
              * shopMissingFactor[(int) itemShop[item]]
              * (expensive ? 1.8 : 0.85);
      Map<String, Double> features = new LinkedHashMap<>();
      features.put("discount", itemDiscount[item]);
      features.put(
          "log_popularity",
          random.nextDouble() < 0.05 ? null : Double.valueOf(itemLogPopularity[item]));
      return Item.newBuilder()
          .setItemId(item)
          .setShopId(itemShop[item])
          .setBrandId(itemBrand[item])
          .setCategoryId((long) category)
          .setPrice(random.nextDouble() < missing ? null : itemPrice[item])
          .setFeatures(features)
          .build();
    }

    private int[] candidates(int user, int intent, String scene) {
      int count = Math.min(config.itemsPerRequest, config.items);
      int[] shown = new int[count];
      for (int k = 0; k < count; k++) {
        int item = -1;
        for (int attempt = 0; attempt < 20; attempt++) {
          item = candidate(user, intent, scene);
          if (!contains(shown, k, item)) {
            break;
          }
          item = -1;
        }
        if (item < 0) {
          // tiny catalogue: fall back to any item not shown yet
          item = random.nextInt(config.items);
          while (contains(shown, k, item)) {
            item = (item + 1) % config.items;
          }
        }
        shown[k] = item;
      }
      return shown;
    }

    private int candidate(int user, int intent, String scene) {
      double draw = random.nextDouble();
      int category;
      if (scene.equals(Scenes.SEARCH)) {
        category = draw < 0.6 ? intent : sample(categoryPopularityCdf);
      } else if (scene.equals(Scenes.RECOMMEND)) {
        int[] favourites = favouriteCategories[user];
        category =
            draw < 0.5
                ? favourites[random.nextInt(favourites.length)]
                : draw < 0.7 ? intent : sample(categoryPopularityCdf);
      } else {
        category = sample(categoryPopularityCdf);
      }
      int[] members = itemsOfCategory[category];
      return members[sample(itemPopularityCdfOfCategory[category])];
    }

    private int sampleIntent(int user) {
      if (random.nextDouble() < 0.4) {
        return sample(categoryPopularityCdf);
      }
      double[] weights = new double[config.categories];
      for (int c = 0; c < weights.length; c++) {
        weights[c] = Math.exp(3.0 * dot(interest[user], categoryDirection[c]));
      }
      return sample(cdf(weights));
    }

    private void drift(int user, long nowMs) {
      double days = (nowMs - lastTouchMs[user]) / (double) DAY;
      lastTouchMs[user] = nowMs;
      if (days <= 0 || config.interestDrift == 0) {
        return;
      }
      double keep = Math.pow(1 - config.interestDrift, days);
      double[] target = unitGaussian();
      double[] w = interest[user];
      for (int d = 0; d < dim; d++) {
        w[d] = keep * w[d] + (1 - keep) * target[d];
      }
      interest[user] = normalize(w);
    }

    // ---- small numerics
    // ---------------------------------------------------------------------------

    private int geometric(double mean) {
      if (mean <= 0) {
        return 0;
      }
      double p = 1 / (1 + mean);
      return (int) Math.floor(Math.log(1 - random.nextDouble()) / Math.log(1 - p));
    }

    private double[] unitGaussian() {
      double[] v = new double[dim];
      for (int d = 0; d < dim; d++) {
        v[d] = random.nextGaussian();
      }
      return normalize(v);
    }

    private int sample(double[] cdf) {
      double u = random.nextDouble() * cdf[cdf.length - 1];
      int index = Arrays.binarySearch(cdf, u);
      index = index >= 0 ? index + 1 : -index - 1;
      return Math.min(index, cdf.length - 1);
    }

    private static double[] cdf(double[] weights) {
      double[] cdf = new double[weights.length];
      double sum = 0;
      for (int i = 0; i < weights.length; i++) {
        sum += weights[i];
        cdf[i] = sum;
      }
      return cdf;
    }

    private static double[] zipfWeights(int n, double exponent) {
      double[] weights = new double[n];
      for (int i = 0; i < n; i++) {
        weights[i] = 1.0 / Math.pow(i + 1, exponent);
      }
      return weights;
    }

    private static boolean contains(int[] values, int length, int value) {
      for (int i = 0; i < length; i++) {
        if (values[i] == value) {
          return true;
        }
      }
      return false;
    }

    private static double[] normalize(double[] v) {
      double norm = Math.sqrt(dot(v, v));
      if (norm == 0) {
        v[0] = 1;
        return v;
      }
      for (int i = 0; i < v.length; i++) {
        v[i] /= norm;
      }
      return v;
    }

    private static double dot(double[] a, double[] b) {
      double sum = 0;
      for (int i = 0; i < a.length; i++) {
        sum += a[i] * b[i];
      }
      return sum;
    }

    private static double sigmoid(double x) {
      return 1 / (1 + Math.exp(-x));
    }
  }
}
