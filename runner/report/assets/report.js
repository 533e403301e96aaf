/* report.js - what a report.html does with script: zoom and pan of the
 * timeline, and a self-check a test reads (<html data-ready data-drawn
 * data-empty>).  The page is complete without it.  Compiled into wedge as
 * a C string by embed.cmake. */
(function () {
  'use strict';
  var doc = document.documentElement;

  function nice(span, want) {
    var raw = span / want, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    return raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
  }

  function fmt(v) {
    var a = Math.abs(v);
    if (a >= 1e4 || a === Math.floor(a)) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    return v.toPrecision(3).replace(/0+$/, '');
  }

  function el(name, attrs, text) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* One zoomable timeline: data-lo/hi (ms) drawn between x0 and x1. */
  function Zoom(svg) {
    var d = svg.dataset, lo0 = +d.lo, hi0 = +d.hi, x0 = +d.x0, x1 = +d.x1;
    var top = +d.top, bottom = +d.bottom, lo = lo0, hi = hi0;
    var items = svg.querySelectorAll('[data-a]'), axis = svg.querySelector('g.axis');
    var minSpan = Math.max((hi0 - lo0) / 1e5, 0.001);

    function X(t) { return x0 + (x1 - x0) * (t - lo) / (hi - lo); }

    function drawAxis() {
      var step = nice(hi - lo, 8), v;
      while (axis.firstChild) axis.removeChild(axis.firstChild);
      for (v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
        axis.appendChild(el('line', {x1: X(v), y1: top - 3, x2: X(v), y2: bottom}));
        axis.appendChild(el('text', {x: X(v), y: top - 8, 'text-anchor': 'middle'},
                            fmt(v) + ' ms'));
      }
    }

    function draw() {
      for (var i = 0; i < items.length; i++) {
        var e = items[i], a = X(+e.dataset.a), b = X(+e.dataset.b);
        if (e.tagName === 'rect') {
          e.setAttribute('x', a.toFixed(1));
          e.setAttribute('width', Math.max(1, b - a).toFixed(1));
        } else if (e.tagName === 'line') {
          e.setAttribute('x1', a.toFixed(1));
          e.setAttribute('x2', a.toFixed(1));
        } else {
          e.setAttribute('x', (e.getAttribute('text-anchor') === 'end' ? a - 3 : a + 3).toFixed(1));
        }
      }
      drawAxis();
    }

    function set(l, h) {
      var span = Math.max(h - l, minSpan);
      if (span >= hi0 - lo0) { l = lo0; h = hi0; } else {
        l = Math.min(Math.max(l, lo0), hi0 - span);
        h = l + span;
      }
      lo = l; hi = h;
      draw();
    }

    function at(evt) {
      var p = svg.createSVGPoint();
      p.x = evt.clientX; p.y = evt.clientY;
      p = p.matrixTransform(svg.getScreenCTM().inverse());
      return lo + (hi - lo) * (p.x - x0) / (x1 - x0);
    }

    function zoom(f, t) {
      if (t === undefined) t = (lo + hi) / 2;
      set(t - (t - lo) * f, t + (hi - t) * f);
    }

    svg.addEventListener('wheel', function (evt) {
      evt.preventDefault();
      zoom(evt.deltaY < 0 ? 0.8 : 1.25, at(evt));
    }, {passive: false});
    var drag = null;
    svg.addEventListener('mousedown', function (evt) { drag = {t: at(evt), lo: lo, hi: hi}; });
    window.addEventListener('mouseup', function () { drag = null; });
    svg.addEventListener('mousemove', function (evt) {
      if (!drag) return;
      var dt = at(evt) - drag.t;
      set(lo - dt, hi - dt);
    });
    svg.addEventListener('dblclick', function () { set(lo0, hi0); });
    return {zoom: zoom, set: set, reset: function () { set(lo0, hi0); }};
  }

  function button(box, text, fn) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.addEventListener('click', fn);
    box.appendChild(b);
  }

  /* #wedge-selftest: zoom in, check that a bar got wider and the axis was
   * drawn again, zoom back; the outcome goes to <html data-selftest>. */
  function selfTest(svg, z) {
    var bar = null, axis = svg.querySelector('g.axis'), why = '', w0;
    svg.querySelectorAll('.rq').forEach(function (b) {
      if (!bar || +b.getAttribute('width') > +bar.getAttribute('width')) bar = b;
    });
    w0 = bar ? +bar.getAttribute('width') : 0;
    z.zoom(0.25);
    if (!bar || !(+bar.getAttribute('width') > w0 * 3.5)) why = 'the widest bar did not widen';
    if (!axis.querySelector('text')) why = 'no axis after zooming';
    z.reset();
    if (bar && Math.abs(+bar.getAttribute('width') - w0) > 0.2) why = 'reset did not restore';
    doc.setAttribute('data-selftest', why ? 'failed: ' + why : 'ok');
  }

  function tools(svg) {
    var z = Zoom(svg), box = document.querySelector('.tools[data-for="timeline"]');
    var viol = svg.querySelector('.rq.viol');
    if (location.hash === '#wedge-selftest') selfTest(svg, z);
    if (!box) return;
    button(box, 'zoom in', function () { z.zoom(0.5); });
    button(box, 'zoom out', function () { z.zoom(2); });
    button(box, 'whole window', z.reset);
    if (viol) {
      button(box, 'the violating request', function () {
        var a = +viol.dataset.a, b = +viol.dataset.b, pad = Math.max((b - a) * 1.5, 1);
        z.set(a - pad, b + pad);
      });
    }
    box.appendChild(document.createTextNode(
      ' wheel: zoom at the pointer; drag: pan; double-click: the whole window; ' +
      'hover a bar or mark for its details'));
  }

  /* What was drawn, for a test and for a reader who wonders. */
  function selfCheck() {
    var count = function (sel) { return document.querySelectorAll(sel).length; };
    var drawn = {
      requests: count('svg.timeline .rq'), injections: count('svg.timeline .mk'),
      violation: count('svg.timeline .rq.viol'), threads: count('svg.sequence .part'),
      events: count('svg.sequence .ev'), plots: count('figure.plot svg'),
      lines: count('figure.plot polyline'), bars: count('figure.plot rect title'),
      cells: count('.cell')
    };
    var empty = [];
    document.querySelectorAll('figure.plot svg').forEach(function (s) {
      if (!s.querySelector('polyline, rect title')) empty.push(s.getAttribute('aria-label'));
    });
    if (document.querySelector('svg.timeline') && !drawn.requests) empty.push('timeline');
    if (document.querySelector('svg.sequence') && !drawn.events) empty.push('sequence');
    doc.setAttribute('data-drawn', Object.keys(drawn).map(function (k) {
      return k + '=' + drawn[k];
    }).join(' '));
    if (empty.length) doc.setAttribute('data-empty', empty.join(' | '));
  }

  document.querySelectorAll('svg.timeline.zoomable').forEach(tools);
  selfCheck();
  doc.setAttribute('data-ready', '1');
})();
