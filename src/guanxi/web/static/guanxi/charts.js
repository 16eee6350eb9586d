// Draw every [data-chart] element with the ECharts option the server put in the
// <script type="application/json" id=...> it names. No chart logic lives here; a slice
// whose data carries a `url` opens it when clicked (the customer list, filtered).
(function () {
  "use strict";
  function draw() {
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || !window.echarts) { return; }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(JSON.parse(source.textContent));
      chart.on("click", function (params) {
        if (params.data && params.data.url) { window.location.assign(params.data.url); }
      });
      el.dataset.ready = "1";
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
