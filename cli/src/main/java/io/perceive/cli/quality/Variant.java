package io.perceive.cli.quality;

import java.util.ArrayList;
import java.util.List;

/**
 * One configuration of the ablation study (issue #6, "Quality"): a sharing architecture with or
 * without the symmetric KL bound, the Missing Value Layer and the behaviour sequence, on the
 * synthetic world or the MovieLens replay. {@link #demoArgs()} are the {@code perceive demo}
 * arguments that run it.
 */
public record Variant(String arch, boolean kl, boolean mvl, boolean sequence, boolean movieLens) {

  /** A short, file-name-safe name, e.g. {@code mmoe-kl-mvl-seq}. */
  public String name() {
    return (movieLens ? "movielens-" : "")
        + arch
        + (kl ? "-kl" : "-nokl")
        + (mvl ? "-mvl" : "-nomvl")
        + (sequence ? "-seq" : "-noseq");
  }

  /**
   * The demo arguments of this variant (world, events and output directory come from the caller).
   */
  public List<String> demoArgs() {
    List<String> a = new ArrayList<>(List.of("--arch", arch));
    if (!kl) a.addAll(List.of("--kl-weight", "0"));
    if (!mvl) a.add("--no-missing-value-layer");
    if (!sequence) a.addAll(List.of("--set", "perceive.model.sequence.enabled=false"));
    if (movieLens) a.addAll(List.of("--source", "movielens"));
    return a;
  }

  /**
   * The study: every architecture with and without the KL bound and the Missing Value Layer (12
   * runs), each architecture with the sequence replaced by the user-id embedding alone (3), and
   * with {@code movieLens} each architecture on the MovieLens replay (3).
   */
  public static List<Variant> study(boolean movieLens) {
    List<Variant> v = new ArrayList<>();
    for (String arch : List.of("shared-bottom", "omoe", "mmoe"))
      for (boolean kl : List.of(true, false))
        for (boolean mvl : List.of(true, false)) v.add(new Variant(arch, kl, mvl, true, false));
    for (String arch : List.of("shared-bottom", "omoe", "mmoe"))
      v.add(new Variant(arch, true, true, false, false));
    if (movieLens)
      for (String arch : List.of("shared-bottom", "omoe", "mmoe"))
        v.add(new Variant(arch, true, true, true, true));
    return v;
  }
}
