package io.perceive.cli.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A small self-contained SVG line chart (no dependencies, embeds directly in the HTML report). */
public final class SvgChart {

  /** One named line; NaN y values leave a gap. */
  public record Series(String name, double[] x, double[] y, String colour, boolean dashed) {}

  private final String title;
  private final String xLabel;
  private final String yLabel;
  private final List<Series> series = new ArrayList<>();
  private Double yMin;
  private Double yMax;

  public SvgChart(String title, String xLabel, String yLabel) {
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
  }

  public SvgChart add(Series s) {
    series.add(s);
    return this;
  }

  public SvgChart yRange(double min, double max) {
    yMin = min;
    yMax = max;
    return this;
  }

  public String render() {
    int w = 640, h = 320, left = 60, right = 150, top = 30, bottom = 45;
    double x0 = Double.POSITIVE_INFINITY, x1 = Double.NEGATIVE_INFINITY;
    double y0 = Double.POSITIVE_INFINITY, y1 = Double.NEGATIVE_INFINITY;
    for (Series s : series)
      for (int i = 0; i < s.x().length; i++) {
        if (Double.isNaN(s.y()[i])) continue;
        x0 = Math.min(x0, s.x()[i]);
        x1 = Math.max(x1, s.x()[i]);
        y0 = Math.min(y0, s.y()[i]);
        y1 = Math.max(y1, s.y()[i]);
      }
    if (x0 > x1) {
      x0 = 0;
      x1 = 1;
      y0 = 0;
      y1 = 1;
    }
    if (yMin != null) y0 = yMin;
    if (yMax != null) y1 = yMax;
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) y1 = y0 + 1;
    double pw = w - left - right, ph = h - top - bottom;
    StringBuilder sb = new StringBuilder();
    sb.append(
        f(
            "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' font-size='11'>",
            w, h));
    sb.append(f("<rect width='%d' height='%d' fill='white'/>", w, h));
    sb.append(
        f("<text x='%d' y='18' font-size='14' font-weight='bold'>%s</text>", left, esc(title)));
    for (int k = 0; k <= 4; k++) {
      double yv = y0 + (y1 - y0) * k / 4;
      double py = top + ph - ph * k / 4;
      sb.append(
          f(
              "<line x1='%d' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#ddd'/>",
              left, left + pw, py, py));
      sb.append(f("<text x='%d' y='%.1f' text-anchor='end'>%s</text>", left - 5, py + 4, num(yv)));
      double xv = x0 + (x1 - x0) * k / 4;
      double px = left + pw * k / 4;
      sb.append(
          f("<text x='%.1f' y='%.1f' text-anchor='middle'>%s</text>", px, top + ph + 15, num(xv)));
    }
    sb.append(
        f(
            "<rect x='%d' y='%d' width='%.1f' height='%.1f' fill='none' stroke='#888'/>",
            left, top, pw, ph));
    sb.append(
        f(
            "<text x='%.1f' y='%d' text-anchor='middle'>%s</text>",
            left + pw / 2, h - 8, esc(xLabel)));
    sb.append(
        f(
            "<text transform='translate(14,%.1f) rotate(-90)' text-anchor='middle'>%s</text>",
            top + ph / 2, esc(yLabel)));
    int legendY = top + 10;
    for (Series s : series) {
      StringBuilder path = new StringBuilder();
      boolean pen = false;
      for (int i = 0; i < s.x().length; i++) {
        double yv = s.y()[i];
        if (Double.isNaN(yv)) {
          pen = false;
          continue;
        }
        double px = left + pw * (s.x()[i] - x0) / (x1 - x0);
        double py = top + ph - ph * (Math.min(Math.max(yv, y0), y1) - y0) / (y1 - y0);
        path.append(pen ? " L" : " M").append(f("%.1f %.1f", px, py));
        pen = true;
      }
      sb.append(
          f(
              "<path d='%s' fill='none' stroke='%s' stroke-width='2'%s/>",
              path.toString().trim(), s.colour(), s.dashed() ? " stroke-dasharray='5,4'" : ""));
      double lx = left + pw + 10;
      sb.append(
          f(
              "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' stroke='%s' stroke-width='2'%s/>",
              lx,
              lx + 18,
              legendY,
              legendY,
              s.colour(),
              s.dashed() ? " stroke-dasharray='5,4'" : ""));
      sb.append(f("<text x='%.1f' y='%d'>%s</text>", lx + 22, legendY + 4, esc(s.name())));
      legendY += 16;
    }
    sb.append("</svg>");
    return sb.toString();
  }

  private static String num(double v) {
    if (Math.abs(v) >= 1000) return String.format(Locale.ROOT, "%.0f", v);
    if (Math.abs(v) >= 10) return String.format(Locale.ROOT, "%.1f", v);
    return String.format(Locale.ROOT, "%.3f", v);
  }

  private static String f(String fmt, Object... args) {
    return String.format(Locale.ROOT, fmt, args);
  }

  static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;");
  }
}
