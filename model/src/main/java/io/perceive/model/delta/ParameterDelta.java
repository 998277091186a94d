package io.perceive.model.delta;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.HostView;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.snapshot.BinaryIo;
import io.perceive.model.snapshot.MalformedDataException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The difference between two parameter states of one layout: the dense flat buffer (as a
 * difference, or whole) and, per embedding table, only the rows that changed — the unit learners
 * and the parameter server exchange.
 *
 * <p>Values are held and encoded in double precision. Why: with float differences, a + (b − a) ≠ b
 * whenever the float subtraction rounds (e.g. a parameter crossing zero). A float's exact
 * difference fits a double whenever the two exponents are at most 28 binades apart (or either is
 * zero), and then {@code apply(diff(a, b), a) == b} bit for bit in FLOAT. The price is 8 bytes per
 * value on the wire instead of 4.
 */
public final class ParameterDelta {

  /** How the dense parameters travel. */
  public enum DenseMode {
    /** b − a: mergeable by sum or average. */
    DIFFERENCE,
    /**
     * b itself: exact whatever the magnitudes, replaces the receiver's dense values; mergeable by
     * average only.
     */
    WHOLE
  }

  /** How {@link #merge} combines deltas that share a base. */
  public enum MergeMode {
    /**
     * Σ δ_i: every learner's update is applied in full, as if the learners' steps had been taken
     * one after another on the base (asynchronous SGD / Hogwild semantics).
     */
    SUM,
    /**
     * (1/n) Σ δ_i over all n deltas, a row absent from a delta counting as zero change: the base
     * plus this equals the average of the learners' parameters (model averaging, FedAvg with equal
     * weights). Rows only one learner touched therefore move by 1/n of that learner's change.
     */
    AVERAGE,
    /**
     * Dense tensors as {@link #AVERAGE}; each embedding row averaged over the deltas that
     * <em>touched</em> it. With learners keyed by user, a user's rows are trained by one learner
     * only: averaging them with the others' zero change would slow exactly the rows that only that
     * learner can learn, while shared item rows and dense weights are still averaged.
     */
    ROW_AVERAGE
  }

  /**
   * The changed rows of one table: values [rows.length, dim] (DOUBLE) and their last-update times.
   */
  public record TableRows(String table, int dim, int[] rows, INDArray values, long[] lastUpdate) {
    public TableRows {
      if (values.rows() != rows.length || (rows.length > 0 && values.columns() != dim))
        throw new IllegalArgumentException(
            table + ": values do not match " + rows.length + " rows of " + dim);
      if (lastUpdate.length != rows.length)
        throw new IllegalArgumentException(table + ": one last-update time per row required");
      for (int i = 1; i < rows.length; i++)
        if (rows[i] <= rows[i - 1])
          throw new IllegalArgumentException(table + ": rows must be unique and ascending");
    }

    public int size() {
      return rows.length;
    }
  }

  public static final byte[] MAGIC = "PRCVDLTA".getBytes(StandardCharsets.US_ASCII);

  /** The encoding this code writes; {@link #decode} refuses any other. */
  public static final int CURRENT_VERSION = 1;

  private final long baseVersion;
  private final long layoutFingerprint;
  private final DenseMode denseMode;
  private final INDArray dense; // DOUBLE [denseLength]
  private final Map<String, TableRows> tables; // in layout order

  private ParameterDelta(
      long baseVersion,
      long layoutFingerprint,
      DenseMode denseMode,
      INDArray dense,
      Map<String, TableRows> tables) {
    this.baseVersion = baseVersion;
    this.layoutFingerprint = layoutFingerprint;
    this.denseMode = denseMode;
    this.dense = dense;
    this.tables = Collections.unmodifiableMap(tables);
  }

  /** The model version of {@code from}, the state this delta is relative to. */
  public long baseVersion() {
    return baseVersion;
  }

  /** A 64-bit hash of the layout (dense names and shapes, table names and sizes). */
  public long layoutFingerprint() {
    return layoutFingerprint;
  }

  public DenseMode denseMode() {
    return denseMode;
  }

  /** The dense part, [denseLength] in DOUBLE. */
  public INDArray dense() {
    return dense;
  }

  public Map<String, TableRows> tables() {
    return tables;
  }

  /** Total changed embedding rows over all tables. */
  public int changedRows() {
    int n = 0;
    for (TableRows t : tables.values()) n += t.size();
    return n;
  }

  /**
   * The delta taking {@code from} to {@code to}: the dense part per {@code mode}, and every table
   * row whose values or last-update time differ (compared bit for bit).
   */
  public static ParameterDelta diff(
      ParameterSet from, ParameterSet to, long baseVersion, DenseMode mode) {
    return diff(from, to, baseVersion, mode, Map.of());
  }

  /**
   * As {@link #diff(ParameterSet, ParameterSet, long, DenseMode)}, comparing in each table named in
   * {@code candidates} only the rows set there: the caller guarantees that every other row of that
   * table is equal in both sets (e.g. rows nobody wrote, see {@link EmbeddingTable#markWritten}).
   * Tables not named are compared whole. With that guarantee the result is the full diff's.
   */
  public static ParameterDelta diff(
      ParameterSet from,
      ParameterSet to,
      long baseVersion,
      DenseMode mode,
      Map<String, BitSet> candidates) {
    if (!from.sameLayout(to) || from.dataType() != to.dataType())
      throw new IllegalArgumentException(
          "cannot diff parameter sets of different layouts or types");
    long n = to.denseLength();
    INDArray dense = asDouble(to.flat(), n); // b
    if (mode == DenseMode.DIFFERENCE && n > 0) {
      INDArray a = asDouble(from.flat(), n);
      dense.subi(a); // b − a, exact in double
      a.close(); // freed now: a pointer GC may be off (nopointergc), and this runs every sync
    }
    Map<String, TableRows> rows = new LinkedHashMap<>();
    for (EmbeddingTable tb : to.tables().values()) {
      EmbeddingTable ta = from.table(tb.name());
      HostView va = HostView.of(ta.weights());
      HostView vb = HostView.of(tb.weights());
      int dim = tb.dim();
      BitSet only = candidates.get(tb.name());
      int[] idx = new int[16];
      double[] v = new double[16 * dim];
      int count = 0;
      int r = only == null ? 0 : only.nextSetBit(0);
      while (r >= 0 && r < tb.rows()) {
        // element by element: at a row's few values a bulk read of the native buffer costs more
        boolean diff = ta.lastUpdate()[r] != tb.lastUpdate()[r];
        for (int j = 0; j < dim && !diff; j++)
          diff =
              Double.doubleToRawLongBits(va.get(r * dim + j))
                  != Double.doubleToRawLongBits(vb.get(r * dim + j));
        if (diff) {
          if (count == idx.length) {
            idx = Arrays.copyOf(idx, 2 * count);
            v = Arrays.copyOf(v, 2 * count * dim);
          }
          idx[count] = r;
          for (int j = 0; j < dim; j++)
            v[count * dim + j] = vb.get(r * dim + j) - va.get(r * dim + j);
          count++;
        }
        r = only == null ? r + 1 : only.nextSetBit(r + 1);
      }
      idx = Arrays.copyOf(idx, count);
      long[] stamps = new long[count];
      for (int i = 0; i < count; i++) stamps[i] = tb.lastUpdate()[idx[i]];
      rows.put(
          tb.name(),
          new TableRows(
              tb.name(), dim, idx, matrix(Arrays.copyOf(v, count * dim), count, dim), stamps));
    }
    return new ParameterDelta(baseVersion, fingerprint(to), mode, dense, rows);
  }

  /**
   * Applies this delta to {@code p} in place: dense values += difference (or := whole), changed
   * rows += difference, each row's last-update time := max(current, the delta's).
   */
  public void applyTo(ParameterSet p) {
    if (fingerprint(p) != layoutFingerprint)
      throw new IllegalArgumentException(
          "delta layout "
              + Long.toHexString(layoutFingerprint)
              + " does not match the parameters' layout "
              + Long.toHexString(fingerprint(p)));
    long n = p.denseLength();
    if (n > 0) {
      INDArray target = p.flat().get(NDArrayIndex.interval(0, n));
      if (denseMode == DenseMode.WHOLE) target.assign(dense);
      else {
        INDArray sum = asDouble(p.flat(), n).addi(dense); // sum in double, round once
        target.assign(sum);
        sum.close(); // freed now, as in diff
      }
    }
    for (TableRows t : tables.values()) {
      if (t.size() == 0) continue;
      EmbeddingTable table = p.table(t.table());
      HostView w = HostView.of(table.weights());
      HostView d = HostView.of(t.values());
      int dim = t.dim();
      for (int i = 0; i < t.size(); i++) {
        int r = t.rows()[i];
        for (int j = 0; j < dim; j++) w.set(r * dim + j, w.get(r * dim + j) + d.get(i * dim + j));
        table.lastUpdate()[r] = Math.max(table.lastUpdate()[r], t.lastUpdate()[i]);
        table.markWritten(r);
      }
    }
  }

  /**
   * Combines deltas of one layout and dense mode (see {@link MergeMode}). The result's base version
   * is the oldest of the inputs'; staleness bounds are the caller's policy. Summing WHOLE dense
   * parts is refused (a sum of parameter values means nothing).
   */
  public static ParameterDelta merge(List<ParameterDelta> deltas, MergeMode mode) {
    if (deltas.isEmpty()) throw new IllegalArgumentException("nothing to merge");
    ParameterDelta first = deltas.get(0);
    for (ParameterDelta d : deltas) {
      if (d.layoutFingerprint != first.layoutFingerprint)
        throw new IllegalArgumentException("cannot merge deltas of different layouts");
      if (d.denseMode != first.denseMode)
        throw new IllegalArgumentException("cannot merge deltas of different dense modes");
    }
    if (first.denseMode == DenseMode.WHOLE && mode == MergeMode.SUM)
      throw new IllegalArgumentException("whole dense tensors can be averaged, not summed");
    double w = mode == MergeMode.SUM ? 1.0 : 1.0 / deltas.size();
    INDArray dense = Nd4j.zeros(DataType.DOUBLE, first.dense.length());
    long base = Long.MAX_VALUE;
    for (ParameterDelta d : deltas) {
      if (dense.length() > 0) dense.addi(d.dense);
      base = Math.min(base, d.baseVersion);
    }
    if (w != 1.0 && dense.length() > 0) dense.muli(w);
    Map<String, TableRows> merged = new LinkedHashMap<>();
    for (String name : first.tables.keySet()) {
      int dim = first.tables.get(name).dim();
      TreeMap<Integer, double[]> sum = new TreeMap<>();
      TreeMap<Integer, Long> stamp = new TreeMap<>();
      Map<Integer, Integer> touched = new java.util.HashMap<>();
      for (ParameterDelta d : deltas) {
        TableRows t = d.tables.get(name);
        if (t.size() == 0) continue;
        HostView v = HostView.of(t.values());
        for (int i = 0; i < t.size(); i++) {
          double[] acc = sum.computeIfAbsent(t.rows()[i], k -> new double[dim]);
          for (int j = 0; j < dim; j++) acc[j] += v.get(i * dim + j);
          stamp.merge(t.rows()[i], t.lastUpdate()[i], Math::max);
          touched.merge(t.rows()[i], 1, Integer::sum);
        }
      }
      int[] idx = new int[sum.size()];
      double[] vals = new double[sum.size() * dim];
      long[] st = new long[sum.size()];
      int i = 0;
      for (var e : sum.entrySet()) {
        idx[i] = e.getKey();
        double rw = mode == MergeMode.ROW_AVERAGE ? 1.0 / touched.get(e.getKey()) : w;
        for (int j = 0; j < dim; j++) vals[i * dim + j] = e.getValue()[j] * rw;
        st[i] = stamp.get(e.getKey());
        i++;
      }
      merged.put(name, new TableRows(name, dim, idx, matrix(vals, idx.length, dim), st));
    }
    return new ParameterDelta(base, first.layoutFingerprint, first.denseMode, dense, merged);
  }

  /**
   * Frees this delta's native buffers now; it must not be used afterwards. Why: with JavaCPP's
   * pointer GC off (the test JVMs' and the launcher's flags) dropped ND4J arrays are never freed,
   * and parameter sync makes and drops model-sized deltas every round.
   */
  public void release() {
    if (dense.closeable()) dense.close();
    for (TableRows t : tables.values()) if (t.values().closeable()) t.values().close();
  }

  /** A new DOUBLE copy of the first {@code n} elements of a flat buffer. */
  private static INDArray asDouble(INDArray flat, long n) {
    if (n == 0) return Nd4j.zeros(DataType.DOUBLE, 0);
    return Nd4j.create(DataType.DOUBLE, n).assign(flat.get(NDArrayIndex.interval(0, n)));
  }

  private static INDArray matrix(double[] v, int rows, int dim) {
    return rows == 0
        ? Nd4j.zeros(DataType.DOUBLE, 0, dim)
        : Nd4j.create(v, new long[] {rows, dim}, 'c');
  }

  /**
   * The layout's 64-bit FNV-1a hash over dense names and shapes (in layout order) and table names,
   * rows and dims: two sets with equal fingerprints accept each other's deltas.
   */
  public static long fingerprint(ParameterSet p) {
    StringBuilder s = new StringBuilder();
    for (ParameterSet.DenseSpec d : p.denseSpecs().values())
      s.append("D:").append(d.name()).append(Arrays.toString(d.shape())).append(';');
    for (EmbeddingTable t : p.tables().values())
      s.append("T:")
          .append(t.name())
          .append('[')
          .append(t.rows())
          .append('x')
          .append(t.dim())
          .append("];");
    long h = 0xcbf29ce484222325L;
    for (byte b : s.toString().getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return h;
  }

  /**
   * The versioned encoding: magic "PRCVDLTA", int32 version, base version, layout fingerprint,
   * dense mode, dense tensor, tables (name, dim, rows, values, last-update times), CRC32C of all
   * preceding bytes.
   */
  public byte[] encode() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.write(MAGIC);
      out.writeInt(CURRENT_VERSION);
      out.writeLong(baseVersion);
      out.writeLong(layoutFingerprint);
      out.writeByte(denseMode.ordinal());
      BinaryIo.writeTensor(out, dense);
      out.writeInt(tables.size());
      for (TableRows t : tables.values()) {
        BinaryIo.writeString(out, t.table());
        out.writeInt(t.dim());
        BinaryIo.writeInts(out, t.rows());
        if (t.size() > 0) BinaryIo.writeElements(out, t.values());
        BinaryIo.writeLongs(out, t.lastUpdate());
      }
      out.flush();
      CRC32C crc = new CRC32C();
      crc.update(bytes.toByteArray());
      out.writeInt((int) crc.getValue());
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // in-memory streams do not fail
    }
  }

  /** Inverse of {@link #encode()}; refuses bad magic, unknown versions, truncation, corruption. */
  public static ParameterDelta decode(byte[] b) throws MalformedDataException {
    if (b.length < MAGIC.length + 4 + 4)
      throw new MalformedDataException("truncated delta: " + b.length + " bytes");
    if (!Arrays.equals(Arrays.copyOf(b, MAGIC.length), MAGIC))
      throw new MalformedDataException("not a Perceive parameter delta (bad magic)");
    int version = ByteBuffer.wrap(b, MAGIC.length, 4).getInt();
    if (version != CURRENT_VERSION)
      throw new MalformedDataException(
          "unsupported delta format version "
              + version
              + " (this reader understands "
              + CURRENT_VERSION
              + ")");
    CRC32C crc = new CRC32C();
    crc.update(b, 0, b.length - 4);
    int stored = ByteBuffer.wrap(b, b.length - 4, 4).getInt();
    if (stored != (int) crc.getValue())
      throw new MalformedDataException("delta checksum mismatch: truncated or corrupt");
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(b, 0, b.length - 4));
      in.skipNBytes(MAGIC.length + 4);
      long base = in.readLong();
      long fp = in.readLong();
      int m = in.readByte();
      if (m < 0 || m >= DenseMode.values().length)
        throw new MalformedDataException("bad dense mode " + m);
      INDArray dense = BinaryIo.readTensor(in);
      if (dense.dataType() != DataType.DOUBLE)
        throw new MalformedDataException("dense part must be FLOAT64");
      int n = BinaryIo.count(in, "table count");
      Map<String, TableRows> tables = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        String name = BinaryIo.readString(in);
        int dim = in.readInt();
        if (dim < 1) throw new MalformedDataException(name + ": bad dim " + dim);
        int[] rows = BinaryIo.readInts(in);
        INDArray values = Nd4j.zeros(DataType.DOUBLE, rows.length, dim);
        if (rows.length > 0) BinaryIo.readElements(in, values);
        long[] stamps = BinaryIo.readLongs(in);
        tables.put(name, new TableRows(name, dim, rows, values, stamps));
      }
      if (in.read() != -1) throw new MalformedDataException("delta longer than its contents");
      return new ParameterDelta(base, fp, DenseMode.values()[m], dense, tables);
    } catch (EOFException e) {
      throw new MalformedDataException("delta shorter than its contents claim", e);
    } catch (IllegalArgumentException e) {
      throw new MalformedDataException("inconsistent delta: " + e.getMessage(), e);
    } catch (MalformedDataException e) {
      throw e;
    } catch (IOException e) {
      throw new MalformedDataException("unreadable delta: " + e.getMessage(), e);
    }
  }
}
