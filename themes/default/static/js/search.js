/* Search page of the default theme (progressive enhancement).
   Loads the pagefind bundle built with the site (/pagefind/pagefind.js, no
   external resource), reveals the form, and searches as the visitor types or
   ticks filters. Within one facet ticked values are alternatives (any); across
   facets they all apply. The query and filters are kept in the address so a
   search can be shared. Without JavaScript the page keeps its list of links. */
(function () {
  'use strict';
  var root = document.querySelector('[data-search]');
  if (!root) return;
  var form = root.querySelector('[data-search-form]');
  var input = form.querySelector('input[type=search]');
  var status = root.querySelector('[data-search-status]');
  var list = root.querySelector('[data-search-results]');
  var more = root.querySelector('[data-search-more]');
  var fallback = root.querySelector('[data-search-fallback]');
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[type=checkbox][data-filter]'));
  var s = root.dataset;
  var PAGE = 10;
  var pagefind = null;
  var results = [];
  var shown = 0;
  var seq = 0;
  var timer = null;

  function selected() {
    var f = {};
    boxes.forEach(function (c) {
      if (c.checked) (f[c.dataset.filter] = f[c.dataset.filter] || []).push(c.value);
    });
    return f;
  }

  function remember(q, f) {
    var params = new URLSearchParams();
    if (q) params.set('q', q);
    Object.keys(f).forEach(function (k) { f[k].forEach(function (v) { params.append(k, v); }); });
    var qs = params.toString();
    history.replaceState(null, '', location.pathname + (qs ? '?' + qs : ''));
  }

  function restore() {
    var params = new URLSearchParams(location.search);
    input.value = params.get('q') || '';
    boxes.forEach(function (c) {
      c.checked = params.getAll(c.dataset.filter).indexOf(c.value) >= 0;
      if (c.checked) c.closest('details').open = true;
    });
  }

  function counts(available) {
    boxes.forEach(function (c) {
      var span = c.parentNode.querySelector('[data-count]');
      if (!span) return;
      var n = available && available[c.dataset.filter] ? (available[c.dataset.filter][c.value] || 0) : null;
      if (n !== null) span.textContent = n;
      c.closest('li').classList.toggle('is-empty', n === 0 && !c.checked);
    });
  }

  function say(text) { status.textContent = text; }

  async function showMore() {
    var my = seq;
    var slice = results.slice(shown, shown + PAGE);
    var data = await Promise.all(slice.map(function (r) { return r.data(); }));
    if (my !== seq) return;
    data.forEach(function (d) {
      var li = document.createElement('li');
      li.className = 'search-result';
      var h = document.createElement('h3');
      h.className = 'search-result__title';
      var a = document.createElement('a');
      a.href = d.url;
      a.textContent = (d.meta && d.meta.title) || d.url;
      h.appendChild(a);
      li.appendChild(h);
      var type = d.filters && d.filters.type && d.filters.type[0];
      if (type) {
        var k = document.createElement('p');
        k.className = 'search-result__type';
        k.textContent = type;
        li.appendChild(k);
      }
      var p = document.createElement('p');
      p.className = 'search-result__excerpt';
      p.innerHTML = d.excerpt; // pagefind escapes page text; only <mark> is markup
      li.appendChild(p);
      list.appendChild(li);
    });
    shown += slice.length;
    more.hidden = shown >= results.length;
  }

  async function run() {
    var my = ++seq;
    var q = input.value.trim();
    var f = selected();
    remember(q, f);
    var any = {};
    Object.keys(f).forEach(function (k) { any[k] = { any: f[k] }; });
    if (!q && !Object.keys(f).length) {
      list.textContent = '';
      more.hidden = true;
      results = [];
      counts(null);
      say(s.prompt);
      return;
    }
    var r = await pagefind.search(q || null, { filters: any });
    if (my !== seq || !r) return;
    // Counts next to the values of a facet that has ticked values ignore that facet's own
    // selection (ticking one more value adds results): one more search per such facet.
    var available = Object.assign({}, r.filters);
    for (var key of Object.keys(any)) {
      var others = Object.assign({}, any);
      delete others[key];
      var without = await pagefind.search(q || null, { filters: others });
      if (my !== seq) return;
      if (without && without.filters) available[key] = without.filters[key];
    }
    results = r.results;
    shown = 0;
    list.textContent = '';
    counts(available);
    await showMore();
    if (my !== seq) return;
    say(results.length ? results.length + ' ' + (results.length === 1 ? s.one : s.many) : s.none);
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(run, 180);
  }

  import(s.bundle).then(async function (pf) {
    pagefind = pf;
    await pagefind.options({ excerptLength: 24 });
    await pagefind.init();
    // Loads every facet's index, so that each search returns counts for all facets.
    await pagefind.filters();
    form.hidden = false;
    // Wide screens have room for every facet open; phones keep them folded.
    if (window.matchMedia('(min-width: 60em)').matches) {
      form.querySelectorAll('details.search__facet').forEach(function (d) { d.open = true; });
    }
    fallback.hidden = true;
    restore();
    input.addEventListener('input', later);
    boxes.forEach(function (c) { c.addEventListener('change', run); });
    form.addEventListener('submit', function (e) { e.preventDefault(); run(); });
    more.addEventListener('click', showMore);
    root.setAttribute('data-ready', '');
    await run();
  }).catch(function () {
    form.hidden = true;
    var p = document.createElement('p');
    p.className = 'notice';
    p.setAttribute('role', 'alert');
    p.textContent = s.error;
    fallback.insertBefore(p, fallback.firstChild);
  });
})();
