/* The reports dashboard's charts (Apache ECharts, vendored): each element with
 * `data-chart` holds its data as JSON (categories, series, and per point its value,
 * text and the link to its cases); a click on a bar, point or slice opens that link.
 * No inline script (CSP): this file reads the data attributes. The font is the page's
 * own CJK-first stack, so Chinese labels are drawn with a Chinese font. */
(function () {
  "use strict";

  var HEIGHT = { trend: 340, pareto: 340 };

  function percent(value) {
    if (value === null || value === undefined) return "—";
    return (Math.round(value * 1000) / 10).toLocaleString(document.documentElement.lang) + "%";
  }

  function textOf(series, index) {
    var point = series.data[index];
    return point ? point.text : "—";
  }

  function axisSeries(spec) {
    var hasRate = spec.series.some(function (s) { return s.unit === "rate"; });
    var hasCount = spec.series.some(function (s) { return s.unit !== "rate"; });
    var axes = [];
    if (hasCount) axes.push({ type: "value", minInterval: 1 });
    if (hasRate) {
      axes.push({
        type: "value", min: 0, max: 1,
        axisLabel: { formatter: percent },
        splitLine: { show: !hasCount }
      });
    }
    var series = spec.series.map(function (s) {
      return {
        name: s.name,
        type: s.type === "line" ? "line" : "bar",
        yAxisIndex: s.unit === "rate" && hasCount ? 1 : 0,
        data: s.data.map(function (p) { return { value: p.value, url: p.url, name: p.label }; }),
        cursor: "pointer",
        symbolSize: 8,
        connectNulls: true
      };
    });
    return { axes: axes, series: series };
  }

  function option(spec, font) {
    var base = {
      aria: { enabled: true },
      textStyle: { fontFamily: font },
      animation: false,
      tooltip: {
        // Drawn in the canvas, not as HTML: labels are the tenant's own text, and the
        // HTML tooltip's markers carry inline styles the CSP refuses.
        renderMode: "richText",
        trigger: spec.kind === "pie" ? "item" : "axis",
        formatter: function (params) {
          var list = Array.isArray(params) ? params : [params];
          var lines = [list[0].name];
          list.forEach(function (p) {
            var s = spec.series[p.seriesIndex];
            var point = s.data[p.dataIndex];
            lines.push(s.name + ": " + textOf(s, p.dataIndex) + (point && point.share ? " (" + point.share + ")" : ""));
          });
          return lines.join("\n");
        }
      }
    };
    if (spec.kind === "pie") {
      var s = spec.series[0];
      base.legend = { type: "scroll", bottom: 0 };
      base.series = [{
        name: s.name, type: "pie", radius: ["35%", "65%"], cursor: "pointer",
        label: { formatter: "{b}: {d}%" },
        data: s.data.map(function (p) { return { value: p.value, url: p.url, name: p.label }; })
      }];
      return base;
    }
    var parts = axisSeries(spec);
    base.legend = spec.series.length > 1 ? { top: 0 } : undefined;
    base.grid = { left: 56, right: 56, top: spec.series.length > 1 ? 36 : 16, bottom: 48 };
    base.xAxis = { type: "category", data: spec.categories, axisLabel: { hideOverlap: true, interval: "auto" } };
    base.yAxis = parts.axes;
    base.series = parts.series;
    if (spec.series.length === 1 && spec.series[0].unit === "rate") base.yAxis = [parts.axes[0]];
    return base;
  }

  function draw(element) {
    var spec;
    try {
      spec = JSON.parse(element.getAttribute("data-chart"));
    } catch (error) {
      return;
    }
    element.style.height = (HEIGHT[element.id.replace(/^chart-/, "")] || 300) + "px";
    var font = window.getComputedStyle(document.body).fontFamily;
    var lang = document.documentElement.lang === "en" ? "EN" : "ZH";
    var chart = window.echarts.init(element, null, { renderer: "canvas", locale: lang });
    chart.setOption(option(spec, font));
    chart.on("click", function (params) {
      var url = params.data && params.data.url;
      if (url && url.charAt(0) === "/") window.location.assign(url);
    });
    return chart;
  }

  function start() {
    if (!window.echarts) return;
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = draw(element);
      if (chart) charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
