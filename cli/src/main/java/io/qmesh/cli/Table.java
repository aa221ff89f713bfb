package io.qmesh.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** A plain text table in kubectl's style: upper-case headers, columns three spaces apart. */
final class Table {

  private final List<String[]> rows = new ArrayList<>();
  private final int width;

  Table(String... headers) {
    this.width = headers.length;
    rows.add(headers);
  }

  Table row(Object... cells) {
    String[] r = new String[width];
    for (int i = 0; i < width; i++) {
      r[i] = i < cells.length && cells[i] != null ? cells[i].toString() : "";
    }
    rows.add(r);
    return this;
  }

  int size() {
    return rows.size() - 1;
  }

  void print(PrintWriter out) {
    lines().forEach(out::println);
    out.flush();
  }

  /** The table's lines, headers first. */
  List<String> lines() {
    int[] w = new int[width];
    for (String[] r : rows) {
      for (int i = 0; i < width; i++) {
        w[i] = Math.max(w[i], r[i].length());
      }
    }
    List<String> lines = new ArrayList<>();
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < width; i++) {
        line.append(r[i]);
        if (i < width - 1) {
          line.append(" ".repeat(w[i] - r[i].length() + 3));
        }
      }
      lines.add(line.toString().stripTrailing());
    }
    return lines;
  }
}
