// Manual accessibility audit of every page type (see README, "Accessibility"):
// axe-core (WCAG 2.0/2.1 A and AA + best practices + target size) in Chromium,
// plus keyboard (skip link, focus rings), headings, lang, form error links,
// external resources, sideways scrolling, and full-page screenshots at 390 and
// 1280 px. Not run by `cargo test`: axe-core and playwright-core come from npm.
//   npm install --prefix /tmp/a11y axe-core@4 playwright-core@1
//   STATIC=http://127.0.0.1:18501 DAEMON=http://127.0.0.1:18502 SETUP=<setup link> \
//     node tests/a11y/audit.mjs > /tmp/a11y/report.txt
const MODULES = process.env.A11Y_MODULES || '/tmp/a11y/node_modules';
const { chromium } = await import(MODULES + '/playwright-core/index.mjs');
import fs from 'node:fs';
const AXE = fs.readFileSync(MODULES + '/axe-core/axe.min.js', 'utf8');
const STATIC = process.env.STATIC || 'http://127.0.0.1:18501';
const DAEMON = process.env.DAEMON || 'http://127.0.0.1:18502';
const SETUP = process.env.SETUP;
const OUT = process.env.OUT || '/tmp/a11y/shots';
fs.mkdirSync(OUT, { recursive: true });
const ONLY = process.env.ONLY ? process.env.ONLY.split(',') : null;
const SHOTS = process.env.SHOTS !== '0';
const results = [];

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});

async function checks(page) {
  return page.evaluate(() => {
    const out = {};
    out.lang = document.documentElement.getAttribute('lang');
    const hs = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].filter(h => h.offsetParent !== null || h.closest('[hidden]') === null);
    const lv = hs.map(h => +h.tagName[1]);
    out.h1 = lv.filter(l => l === 1).length;
    out.headingSkips = [];
    for (let i = 1; i < lv.length; i++) if (lv[i] > lv[i - 1] + 1) out.headingSkips.push(`h${lv[i-1]}→h${lv[i]} "${hs[i].textContent.trim().slice(0, 40)}"`);
    // external resources
    const ext = [];
    const isExt = u => /^(https?:)?\/\//.test(u) && !u.startsWith(location.origin);
    for (const el of document.querySelectorAll('[src],[srcset],link[href],object[data],iframe')) {
      if (el.tagName === 'LINK' && /canonical|alternate/.test(el.rel)) continue;
      for (const a of ['src', 'srcset', 'href', 'data']) { const v = el.getAttribute(a); if (v && isExt(v.trim())) ext.push(`${el.tagName} ${a}=${v}`); }
    }
    for (const el of document.querySelectorAll('[style]')) if (/url\(\s*['"]?(https?:)?\/\//.test(el.getAttribute('style'))) ext.push('inline style url');
    for (const s of document.styleSheets) { try { for (const r of s.cssRules) if (/url\(\s*["']?(https?:)?\/\//.test(r.cssText) || /@import/.test(r.cssText)) ext.push('css: ' + r.cssText.slice(0, 80)); } catch (e) { ext.push('unreadable sheet ' + s.href); } }
    out.external = ext;
    // overflow
    out.hOverflow = document.documentElement.scrollWidth > window.innerWidth + 1;
    if (out.hOverflow) {
      out.wide = [...document.querySelectorAll('body *')].filter(e => { const r = e.getBoundingClientRect(); return r.right > window.innerWidth + 1 && getComputedStyle(e).position !== 'absolute'; }).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
    }
    // form controls described by existing ids
    out.brokenDescribedby = [...document.querySelectorAll('[aria-describedby]')].flatMap(e => e.getAttribute('aria-describedby').split(/\s+/).filter(id => !document.getElementById(id)).map(id => `${e.id}->${id}`));
    out.errorsNotLinked = [...document.querySelectorAll('[id$="-error"]')].filter(er => !document.querySelector(`[aria-describedby~="${er.id}"]`)).map(e => e.id);
    out.invalidNoFlag = [...document.querySelectorAll('[id$="-error"]')].map(er => er.id.replace(/-error$/, '')).filter(id => { const c = document.getElementById(id); return c && c.getAttribute('aria-invalid') !== 'true' && /INPUT|SELECT|TEXTAREA/.test(c.tagName); });
    return out;
  });
}

async function keyboard(page) {
  const r = {};
  await page.evaluate(() => { window.scrollTo({ top: 0, behavior: 'instant' }); const t = document.createElement('span'); t.tabIndex = -1; document.body.prepend(t); t.focus(); t.blur(); });
  await page.keyboard.press('Tab');
  r.first = await page.evaluate(() => { const a = document.activeElement; const b = a.getBoundingClientRect(); return { tag: a.tagName, text: a.textContent.trim().slice(0, 40), href: a.getAttribute('href'), visible: b.width > 0 && b.height > 0 && b.top >= 0 && b.left >= 0 && b.right <= innerWidth, outline: getComputedStyle(a).outlineStyle + ' ' + getComputedStyle(a).outlineWidth + ' ' + getComputedStyle(a).boxShadow.slice(0, 30) }; });
  if (r.first.href && r.first.href.startsWith('#')) {
    await page.keyboard.press('Enter');
    await page.waitForTimeout(100);
    r.afterSkip = await page.evaluate(() => (document.activeElement.id || document.activeElement.tagName));
    await page.keyboard.press('Tab');
    r.nextAfterSkip = await page.evaluate(() => { const a = document.activeElement; return a.tagName + ' ' + a.textContent.trim().slice(0, 30) + ' in main:' + !!a.closest('main'); });
  }
  // focus visibility on every focusable element: focus-visible indicator present?
  r.noFocusStyle = await page.evaluate(async () => {
    const bad = [];
    const els = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])')].filter(e => e.offsetParent !== null);
    for (const e of els.slice(0, 200)) {
      const before = getComputedStyle(e); const b = [before.outlineStyle, before.outlineWidth, before.boxShadow, before.backgroundColor, before.textDecorationLine, before.borderColor].join('|');
      e.focus({ focusVisible: true });
      const a = getComputedStyle(e); const s = [a.outlineStyle, a.outlineWidth, a.boxShadow, a.backgroundColor, a.textDecorationLine, a.borderColor].join('|');
      const holder = e.closest('.card, .agenda');
      const ho = holder ? getComputedStyle(holder) : null;
      const ringOnCard = ho && ho.outlineStyle !== 'none' && ho.outlineWidth !== '0px';
      if (b === s && !ringOnCard && (a.outlineStyle === 'none' || a.outlineWidth === '0px')) bad.push(e.tagName + ' ' + (e.className || '') + ' ' + e.textContent.trim().slice(0, 20));
      e.blur();
    }
    return bad.slice(0, 8);
  });
  return r;
}

async function audit(page, name, opts = {}) {
  if (ONLY && !ONLY.some(o => name.includes(o))) return;
  const extReq = page.__ext || [];
  await page.addScriptTag({ content: AXE }).catch(() => {});
  const ax = await page.evaluate(async () => {
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, rules: { 'target-size': { enabled: true } } });
    return r.violations.map(v => ({ id: v.id, impact: v.impact, tags: v.tags.filter(t => /wcag|best/.test(t)).join(','), n: v.nodes.length, help: v.help, targets: v.nodes.slice(0, 4).map(n => n.target.join(' ') + (n.any[0]?.message ? ' :: ' + n.any[0].message.slice(0, 120) : '')) }));
  });
  const c = await checks(page);
  const k = opts.noKeyboard ? {} : await keyboard(page);
  const rec = { name, url: page.url(), axe: ax, checks: c, keyboard: k, externalRequests: [...extReq] };
  results.push(rec);
  const wcag = ax.filter(v => /wcag/.test(v.tags)); const bp = ax.filter(v => !/wcag/.test(v.tags));
  console.log(`\n## ${name} (${page.url()})\n  axe WCAG: ${wcag.map(v => `${v.id}×${v.n}`).join(', ') || 'none'} | best-practice: ${bp.map(v => `${v.id}×${v.n}`).join(', ') || 'none'}`);
  for (const v of ax) console.log(`   - ${v.id} [${v.impact}] ${v.help}\n       ${v.targets.join('\n       ')}`);
  console.log(`  lang=${c.lang} h1=${c.h1} skips=${JSON.stringify(c.headingSkips)} ext=${JSON.stringify(c.external)} extReq=${JSON.stringify(extReq)} overflow=${c.hOverflow} ${c.wide ? JSON.stringify(c.wide) : ''}`);
  if (c.brokenDescribedby.length || c.errorsNotLinked.length || c.invalidNoFlag.length) console.log(`  forms: brokenDescribedby=${c.brokenDescribedby} errorsNotLinked=${c.errorsNotLinked} invalidNoFlag=${c.invalidNoFlag}`);
  if (k.first) console.log(`  keyboard: first=${JSON.stringify(k.first)} afterSkip=${k.afterSkip} next=${k.nextAfterSkip} noFocusStyle=${JSON.stringify(k.noFocusStyle)}`);
  if (SHOTS && !opts.noShots) {
    const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    const vp = page.viewportSize();
    for (const w of [390, 1280]) {
      await page.setViewportSize({ width: w, height: 900 });
      await page.waitForTimeout(150);
      const ov = await page.evaluate(() => document.documentElement.scrollWidth > innerWidth + 1 ? [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1).slice(-3).map(e => e.tagName + '.' + e.className) : null);
      if (ov) console.log(`  OVERFLOW at ${w}px: ${JSON.stringify(ov)}`);
      await page.screenshot({ path: `${OUT}/${slug}-${w}.png`, fullPage: true });
    }
    await page.setViewportSize(vp);
  }
}

async function newPage(ctxOpts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true, ...ctxOpts });
  const page = await ctx.newPage();
  page.__ext = [];
  page.on('request', r => { const u = r.url(); if (!/^(data:|blob:|http:\/\/127\.0\.0\.1)/.test(u)) page.__ext.push(u); });
  return page;
}

const staticPages = [
  ['home', '/'], ['projects', '/projets/'], ['projects page 2', '/projets/page/2/'],
  ['project', '/projets/potagers-sans-frontieres/'], ['trainings', '/formations/'],
  ['training', '/formations/seminaire-multilateral-lisbonne/'], ['labels', '/labels/'],
  ['label', '/labels/potagers-sans-frontieres-europeen/'], ['taxonomy', '/pays/'], ['term', '/pays/france/'],
  ['term page 2', '/langues/anglais/page/2/'],
  ['search js', '/recherche/'], ['page about', '/a-propos/'], ['page accessibility', '/accessibilite/'],
  ['404', '/404.html'], ['form static projects', '/proposer/projets/'], ['form static labels', '/proposer/labels/'],
];
const which = process.env.WHICH || 'static,daemon';
if (which.includes('static')) {
  let page = await newPage();
  for (const [name, path] of staticPages) {
    if (name === 'search js') page = await newPage();
    if (ONLY && !ONLY.some(o => name.includes(o))) continue;
    page.__ext.length = 0;
    await page.goto(STATIC + path, { waitUntil: 'networkidle' });
    if (name === 'search js') {
      await page.fill('#vt-search-q', 'jardin');
      await page.press('#vt-search-q', 'Enter');
      await page.waitForTimeout(1500);
      await page.evaluate(() => { document.activeElement.blur(); document.body.focus(); });
      const u = page.url(); await page.goto('about:blank'); await page.goto(u, { waitUntil: 'networkidle' }); await page.waitForTimeout(1500);
    }
    await audit(page, name);
  }
  // Dark colour scheme (the theme follows prefers-color-scheme): contrast only, no screenshots of every page.
  const dark = await newPage({ colorScheme: 'dark' });
  for (const [name, path] of staticPages) {
    if (ONLY && !ONLY.some(o => ('dark ' + name).includes(o))) continue;
    await dark.goto(STATIC + path, { waitUntil: 'networkidle' });
    await audit(dark, 'dark ' + name, { noKeyboard: true, noShots: !['home', 'project', 'training', 'form static labels'].includes(name) });
  }
  const nojs = await newPage();
  await nojs.route(/\/js\/.*\.js$|pagefind/, r => r.abort());
  await nojs.goto(STATIC + '/recherche/'); // axe needs JS: evaluate works even with JS disabled for page scripts
  await audit(nojs, 'search nojs');
  await nojs.goto(STATIC + '/projets/potagers-sans-frontieres/');
  await audit(nojs, 'project nojs', { noKeyboard: true });
  // English translated pages (site copy served by the daemon)
  const en = await newPage();
  await en.goto(DAEMON + '/en/projets/potagers-sans-frontieres/', { waitUntil: 'networkidle' });
  await audit(en, 'english project');
  await en.goto(DAEMON + '/en/a-propos/', { waitUntil: 'networkidle' });
  await audit(en, 'english page');
}

if (which.includes('daemon')) {
  const mod = await newPage();
  const teacher = await newPage();
  const anon = await newPage();
  await anon.goto(DAEMON + '/moderation/login');
  await audit(anon, 'moderation login');
  await anon.fill('#username', 'nobody'); await anon.fill('#password', 'wrong password!');
  await anon.click('button[type=submit]');
  await audit(anon, 'moderation login error', { noKeyboard: true });
  if (SETUP) {
    await mod.goto(SETUP);
    await audit(mod, 'moderation setup');
    await mod.fill('#username', 'correspondant'); await mod.fill('#password', 'un mot de passe solide'); await mod.fill('#password2', 'un mot de passe solide');
    await mod.click('button.primary');
  }
  await mod.goto(DAEMON + '/moderation/login');
  if (await mod.$('#password')) { await mod.fill('#username', 'correspondant'); await mod.fill('#password', 'un mot de passe solide'); await mod.click('button.primary'); }
  // teacher: form, errors, confirmation, status
  await teacher.goto(DAEMON + '/proposer/labels/');
  await audit(teacher, 'daemon form labels');
  await teacher.waitForTimeout(3500);
  await teacher.evaluate(() => document.querySelectorAll('form').forEach(f => { f.noValidate = true; }));
  await teacher.fill('#f-vt_email', 'pas une adresse');
  await teacher.click('.vt-form button[type=submit], form button.primary');
  await teacher.waitForLoadState();
  await audit(teacher, 'daemon form labels errors');
  await teacher.goto(DAEMON + '/proposer/projets/');
  await audit(teacher, 'daemon form projects');
  await teacher.goto(DAEMON + '/proposer/labels/');
  await teacher.fill('#f-title', 'Label européen pour les potagers');
  await teacher.selectOption('#f-kind', { index: 2 });
  await teacher.fill('#f-year', '2026');
  await teacher.fill('#f-project', 'potagers-sans-frontieres');
  await teacher.fill('#f-citation', 'Un projet **remarquable** par sa durée.');
  await teacher.fill('#f-vt_body', 'Le jury a salué le travail des élèves.');
  await teacher.fill('#f-vt_name', 'Camille Enseignante');
  await teacher.fill('#f-vt_email', 'camille@example.org');
  await teacher.waitForTimeout(3500);
  await teacher.click('.vt-form button[type=submit], form button.primary');
  await teacher.waitForLoadState();
  await audit(teacher, 'confirmation');
  const statusUrl = teacher.url().split('#')[0].replace('?nouveau=1', '');
  await teacher.goto(statusUrl);
  await audit(teacher, 'status');
  // moderator
  await mod.goto(DAEMON + '/moderation/queue?order=newest');
  await audit(mod, 'queue');
  const href = await mod.getAttribute('table.queue a', 'href');
  await mod.goto(DAEMON + href);
  await audit(mod, 'item detail');
  await mod.fill('#changes-msg', 'Merci de préciser l’année du label.');
  await mod.click('form[action$="/changes"] button');
  await mod.waitForLoadState();
  await teacher.goto(statusUrl);
  await audit(teacher, 'status revision');
  await teacher.fill('#f-title', '');
  await teacher.evaluate(() => document.querySelectorAll('form').forEach(f => { f.noValidate = true; }));
  await teacher.waitForTimeout(3500);
  await teacher.click('form button.primary');
  await teacher.waitForLoadState();
  await audit(teacher, 'status revision errors');
  await mod.goto(DAEMON + '/moderation/users');
  await audit(mod, 'users');
  await anon.goto(DAEMON + '/suivi/inconnu');
  await audit(anon, 'daemon error');
}
fs.writeFileSync(OUT + '/results.json', JSON.stringify(results, null, 1));
await browser.close();
