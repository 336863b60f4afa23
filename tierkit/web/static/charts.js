// Draws every <div class="chart" data-chart="KIND" data-source="ID"> from the JSON in
// <script type="application/json" id="ID">. Labels arrive in the page's language; the page
// holds the same figures as a table behind "show data". No request leaves this host.
(function () {
  "use strict";
  var palette = ["#1f4e79", "#2e75b6", "#5b9bd5", "#9dc3e6", "#c9ddf0", "#e7eef7"];
  var grid = { left: 56, right: 24, top: 24, bottom: 48, containLabel: true };
  var text = { fontFamily: "'Noto Sans CJK SC', 'Noto Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif" };

  // A level's label goes inside its shape when it fits there, else to the right of the funnel with
  // a leader line (the bottom levels of a pyramid by value are often a sliver: their labels ran
  // over the edges, dark on dark). `width`: the chart's width in pixels, when known.
  function textWidth(line) {
    var px = 0;
    for (var i = 0; i < line.length; i++) { px += line.charCodeAt(i) > 0x2e80 ? 12 : 6.5; }
    return px;
  }

  // Category names under a chart: level when each fits its slot, else turned (ten RFM segments
  // under one chart ran into each other; the grid's containLabel makes room for them).
  function categoryLabels(names, width) {
    var slot = width ? (width * 0.85) / Math.max(names.length, 1) : Infinity;
    var widest = Math.max.apply(null, names.map(function (n) { return textWidth(String(n)); }).concat([0]));
    return { axisLabel: widest + 6 <= slot ? { interval: 0 } : { interval: 0, rotate: 35 }, slot: slot };
  }

  function pyramid(d, width) {
    var values = d.items.map(function (x) { return Math.max(Number(x.value) || 0, 0); });
    var max = Math.max.apply(null, values.concat([1e-9]));
    var span = width ? width * 0.92 : 0;
    var outside = d.items.map(function (x, i) {
      if (!span) { return false; }
      var mid = (values[i] + (i + 1 < values.length ? values[i + 1] : 0)) / 2 / max * span;
      return Math.max(textWidth(x.name), textWidth(x.text)) + 16 > mid;
    });
    var any = outside.some(function (o) { return o; });
    return {
      textStyle: text,
      tooltip: { trigger: "item", formatter: function (p) { return p.name + "<br>" + p.data.text; } },
      series: [{
        type: "funnel", sort: "none", left: "4%", width: any ? "58%" : "92%", top: 8, bottom: 8, minSize: "4%", maxSize: "100%",
        gap: 2, label: { position: "inside", formatter: function (p) { return p.name + "\n" + p.data.text; } },
        labelLine: { show: false }, itemStyle: { borderColor: "#fff" },
        data: d.items.map(function (x, i) {
          var light = (i % palette.length) >= 2;
          var label = outside[i]
            ? { position: "right", color: "#1d2733", textBorderWidth: 0 }
            : { position: "inside", color: light ? "#1d2733" : "#fff", textBorderWidth: 0 };
          return { name: x.name, value: x.value, text: x.text, itemStyle: { color: palette[i % palette.length] },
                   label: label, labelLine: { show: outside[i], length: 12, lineStyle: { color: "#8a97a6" } } };
        })
      }]
    };
  }

  function pareto(d) {
    return {
      textStyle: text, grid: grid,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v + "%"; } },
      xAxis: { type: "value", min: 0, max: 100, name: d.x_name, nameLocation: "middle", nameGap: 28, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "value", min: 0, max: 100, name: d.y_name, nameLocation: "middle", nameGap: 44, axisLabel: { formatter: "{value}%" } },
      series: [{
        type: "line", data: d.points, showSymbol: false, smooth: false, lineStyle: { width: 3, color: palette[0] },
        areaStyle: { color: "rgba(46,117,182,0.12)" },
        markLine: {
          symbol: "none", lineStyle: { type: "dashed", color: "#c0504d" },
          label: { formatter: function (p) { return p.data.short + " " + p.data.yText; }, color: "#c0504d", position: "insideEndTop" },
          data: d.cuts.map(function (c) { return { name: c.name, short: c.short, xAxis: c.x, yText: c.y + "%" }; })
        }
      }]
    };
  }

  function rfm(d) {
    var max = d.cells.reduce(function (m, c) { return Math.max(m, c[2]); }, 1);
    return {
      textStyle: text, grid: { left: 48, right: 24, top: 36, bottom: 72, containLabel: true },
      tooltip: { formatter: function (p) { return p.data[3] + "<br>R " + d.y[p.data[1]] + " · F " + d.x[p.data[0]] + ": " + p.data[2].toLocaleString() + " " + d.count_word; } },
      xAxis: { type: "category", data: d.x, name: d.x_name, nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "category", data: d.y, name: d.y_name, nameGap: 12 },
      // the count (the cells' third value) is what is coloured: by default the last one, the label, is
      visualMap: { dimension: 2, min: 0, max: max, text: [max.toLocaleString(), "0"], calculable: false, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120, inRange: { color: ["#eef4fb", "#1f4e79"] } },
      series: [{ type: "heatmap", data: d.cells, label: { show: true, fontSize: 10, formatter: function (p) { return p.data[3] + "\n" + p.data[2].toLocaleString(); } } }]
    };
  }

  function bars(d, horizontal, width) {
    var fitted = categoryLabels(d.names, width);
    var category = { type: "category", data: d.names, axisLabel: horizontal ? { interval: 0 } : fitted.axisLabel };
    var value = { type: "value" };
    if (horizontal) { category.inverse = true; }
    return {
      textStyle: text, grid: grid, tooltip: { trigger: "axis" },
      xAxis: horizontal ? value : category, yAxis: horizontal ? category : value,
      series: [{ type: "bar", data: d.values, itemStyle: { color: palette[1] },
                 label: { show: true, position: horizontal ? "right" : "top", formatter: function (p) { return Number(p.value).toLocaleString(); } } }]
    };
  }

  function sankey(d) {
    return {
      textStyle: text, tooltip: { trigger: "item" },
      series: [{
        type: "sankey", left: 8, right: 120, top: 8, bottom: 8, nodeGap: 10, draggable: false, layoutIterations: 0,
        emphasis: { focus: "adjacency" }, data: d.nodes, links: d.links,
        lineStyle: { color: "gradient", curveness: 0.5, opacity: 0.45 }, label: { color: "#222" }
      }]
    };
  }

  function lines(d) {
    return {
      textStyle: text, grid: grid, tooltip: { trigger: "axis" }, legend: { top: 0 },
      xAxis: { type: "category", data: d.x }, yAxis: { type: "value" },
      series: d.series.map(function (s, i) { return { type: d.stack ? "bar" : "line", stack: d.stack ? "all" : undefined, name: s.name, data: s.values, itemStyle: { color: palette[i % palette.length] } }; })
    };
  }

  function grouped(d, width) {
    var fitted = categoryLabels(d.names, width);
    // a figure over each bar while the bars are wide enough to hold it; else the tooltip and the
    // table behind "show data" give them
    var figures = fitted.slot / Math.max(d.series.length, 1) >= textWidth("00.0" + (d.unit || "")) + 4;
    return {
      textStyle: text, grid: grid, legend: { top: 0 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v + (d.unit || ""); } },
      xAxis: { type: "category", data: d.names, axisLabel: fitted.axisLabel },
      yAxis: { type: "value", axisLabel: { formatter: "{value}" + (d.unit || "") } },
      series: d.series.map(function (s, i) {
        return { type: "bar", name: s.name, data: s.values, itemStyle: { color: [palette[0], "#c0504d", palette[2]][i % 3] },
                 label: { show: figures, position: "top", formatter: function (p) { return p.value + (d.unit || ""); } } };
      })
    };
  }

  var kinds = { pyramid: pyramid, pareto: pareto, rfm: rfm, bars: function (d, w) { return bars(d, false, w); }, hbars: function (d, w) { return bars(d, true, w); }, sankey: sankey, lines: lines, grouped: grouped };
  var drawn = [];

  function draw(box) {
    var source = document.getElementById(box.getAttribute("data-source"));
    var kind = kinds[box.getAttribute("data-chart")];
    if (!source || !kind || !window.echarts) { return; }
    var chart = window.echarts.init(box, null, { renderer: "svg" });
    var option = kind(JSON.parse(source.textContent), box.clientWidth);
    option.animation = false;  // drawn at once: what a screenshot or a printout shows is the final chart
    chart.setOption(option);
    box.setAttribute("data-drawn", "true");
    var click = box.getAttribute("data-click");
    if (click) {
      chart.on("click", function (p) { if (p.data && p.data.href) { window.location.href = p.data.href; } });
    }
    drawn.push(chart);
  }

  document.querySelectorAll("div.chart[data-chart]").forEach(draw);
  window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
})();
