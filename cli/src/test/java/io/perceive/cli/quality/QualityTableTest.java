package io.perceive.cli.quality;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.cli.demo.DemoOptionsAccess;
import io.perceive.model.ModelConfig;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class QualityTableTest {

  @Test
  void theStudyHasEveryCombinationOnceAndTheDemoAcceptsEachVariantsArguments() {
    List<Variant> study = Variant.study(true);
    Set<String> names = study.stream().map(Variant::name).collect(Collectors.toSet());
    assertThat(names).hasSize(study.size()).hasSize(12 + 3 + 3);
    for (Variant v : study) {
      DemoOptionsAccess.parse(v.demoArgs()); // throws on a bad option
      // and the model accepts every setting the demo derives from them (a missing model option
      // once failed only when the variant ran)
      ModelConfig cfg = ModelConfig.fromProperties(DemoOptionsAccess.modelSettings(v.demoArgs()));
      assertThat(cfg.get(ModelConfig.MISSING_VALUE_LAYER)).isEqualTo(v.mvl());
      assertThat(cfg.get(ModelConfig.SEQUENCE_ENABLED)).isEqualTo(v.sequence());
    }
    assertThat(new Variant("mmoe", false, false, false, false).demoArgs())
        .containsSubsequence("--kl-weight", "0")
        .contains("--no-missing-value-layer", "perceive.model.sequence.enabled=false");
  }

  @Test
  void rowsShowAucNextToTheOracleAndADashWhereTheTruthIsUnknown() {
    Map<String, Object> synthetic = report(0.61234, 0.81, 1_234.4);
    Map<String, Object> movieLens = report(0.7, null, 900);
    String md =
        QualityTable.markdown(
            List.of(
                new QualityTable.Run(new Variant("omoe", true, false, true, false), synthetic),
                new QualityTable.Run(new Variant("mmoe", true, true, true, true), movieLens)));
    String[] lines = md.split("\n");
    assertThat(lines).hasSize(4);
    assertThat(lines[2])
        .startsWith("| synthetic | omoe | on | off | LSTM + attention | 0.612 (0.810) |")
        .endsWith("| 1,234 |");
    assertThat(lines[3]).startsWith("| MovieLens | mmoe | on | on | LSTM + attention | 0.700 |");
  }

  private static Map<String, Object> report(double auc, Double oracle, double eps) {
    Map<String, Object> tasks = new HashMap<>();
    for (String t : List.of("click", "conversion", "order")) {
      Map<String, Object> m = new HashMap<>();
      m.put("auc", auc);
      m.put("oracle_auc", oracle);
      m.put("logloss", 0.5);
      m.put("samples", 10);
      tasks.put(t, m);
    }
    Map<String, Object> r = new HashMap<>();
    r.put("tasks", tasks);
    r.put("events_per_second", eps);
    return r;
  }
}
