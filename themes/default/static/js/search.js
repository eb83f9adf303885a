/* Search page of the default theme (progressive enhancement).
   Loads the pagefind bundle built with the site (/pagefind/pagefind.js, no
   external resource), reveals the form, and searches as the visitor types or
   ticks filters. Within one facet ticked values are alternatives (any); across
   facets they all apply. The query and filters are kept in the address so a
   search can be shared. Without JavaScript the page keeps its list of links.
   French: the query loses its elided articles (l', d', qu', jusqu'… with ' or ’),
   so "l’eau" finds what "eau" finds (the index has "eau" for every "l’eau", see
   the generator's search module); ’ is put back in excerpts. Ligatures are
   spelled out on both sides ("oeuvre" and "œuvre" find "œuvre").
   Results show the entry's image, type, summary, and an excerpt of its text when
   the summary does not already hold it. Facet values with results come first,
   most results first; values without any are hidden, their number noted. */
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

  // Elided words: an article or pronoun glued to the next word by an apostrophe.
  var ELIDED = /(^|[^\p{L}])(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu)'(?=\p{L})/giu;

  /* The query as pagefind should get it: apostrophes made plain, elided words dropped,
     ligatures spelled out as in the index (œ → oe, æ → ae). */
  function normalize(q) {
    return q.replace(/[\u2019\u02bc\u2018`\u00b4]/g, "'").replace(ELIDED, '$1')
      .replace(/œ/g, 'oe').replace(/Œ/g, 'Oe').replace(/æ/g, 'ae').replace(/Æ/g, 'Ae').trim();
  }

  /* French typography back on text the index holds with plain apostrophes. */
  function curly(text) {
    return text.replace(/(\p{L})'(?=\p{L})/gu, '$1\u2019');
  }

  function plain(html) {
    var d = document.createElement('div');
    d.innerHTML = html;
    return d.textContent.replace(/\s+/g, ' ').trim();
  }

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
    var facets = {};
    boxes.forEach(function (c) {
      var li = c.closest('li');
      var span = li.querySelector('[data-count]');
      var n = available ? ((available[c.dataset.filter] || {})[c.value] || 0) : null;
      if (span) span.textContent = n === null ? span.dataset.total : n;
      var empty = n === 0 && !c.checked;
      li.classList.toggle('is-empty', empty);
      li.hidden = empty;
      var ul = li.parentNode;
      (facets[c.dataset.filter] = facets[c.dataset.filter] || { ul: ul, items: [] }).items.push({ li: li, n: n, c: c });
    });
    Object.keys(facets).forEach(function (k) {
      var f = facets[k];
      // Most results first; the page's order among equals (and when nothing is searched).
      var sorted = f.items.slice().sort(function (a, b) {
        if (a.n === null || b.n === null) return a.li.dataset.order - b.li.dataset.order;
        return (b.n - a.n) || (a.li.dataset.order - b.li.dataset.order);
      });
      sorted.forEach(function (x) { f.ul.appendChild(x.li); });
      var hiddenCount = f.items.filter(function (x) { return x.li.hidden; }).length;
      var note = f.ul.parentNode.querySelector('[data-empty-note]');
      if (note) {
        note.hidden = hiddenCount === 0;
        note.textContent = hiddenCount === 1 ? s.emptyOne : s.emptyMany.replace('{n}', hiddenCount);
      }
      var details = f.ul.closest('details');
      details.hidden = hiddenCount === f.items.length && details.querySelector('input:checked') === null;
    });
  }

  function say(text) { status.textContent = text; }

  async function showMore() {
    var my = seq;
    var slice = results.slice(shown, shown + PAGE);
    var data = await Promise.all(slice.map(function (r) { return r.data(); }));
    if (my !== seq) return;
    data.forEach(function (d) {
      var meta = d.meta || {};
      var li = document.createElement('li');
      li.className = 'search-result';
      if (meta.image) {
        var img = document.createElement('img');
        img.className = 'search-result__image';
        img.src = meta.image;
        img.alt = ''; // the title next to it names the entry; the picture adds nothing to it
        img.loading = 'lazy';
        img.decoding = 'async';
        img.width = 160;
        img.height = 120;
        li.appendChild(img);
        li.classList.add('search-result--image');
      }
      var body = document.createElement('div');
      body.className = 'search-result__body';
      var type = meta.kind || (d.filters && d.filters.type && d.filters.type[0]);
      if (type) {
        var k = document.createElement('p');
        k.className = 'search-result__type';
        k.textContent = type;
        body.appendChild(k);
      }
      var h = document.createElement('h3');
      h.className = 'search-result__title';
      var a = document.createElement('a');
      a.href = d.url;
      a.textContent = curly(meta.title || d.url);
      h.appendChild(a);
      body.appendChild(h);
      var summary = meta.summary ? curly(meta.summary) : '';
      if (summary) {
        var sp = document.createElement('p');
        sp.className = 'search-result__summary';
        sp.textContent = summary;
        body.appendChild(sp);
      }
      // The excerpt shows where the words are, unless the summary already says it.
      var excerpt = curly(d.excerpt || '');
      var words = plain(excerpt).replace(/^\W+|\W+$/gu, '');
      if (excerpt && !(summary && words && summary.indexOf(words) >= 0)) {
        var p = document.createElement('p');
        p.className = 'search-result__excerpt';
        p.innerHTML = excerpt; // pagefind escapes page text; only <mark> is markup
        body.appendChild(p);
      }
      li.appendChild(body);
      list.appendChild(li);
    });
    shown += slice.length;
    more.hidden = shown >= results.length;
  }

  async function run() {
    var my = ++seq;
    var typed = input.value.trim();
    var q = normalize(typed);
    var f = selected();
    remember(typed, f);
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

  boxes.forEach(function (c, i) {
    var li = c.closest('li');
    li.dataset.order = i;
    var span = li.querySelector('[data-count]');
    if (span) span.dataset.total = span.textContent;
  });

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
