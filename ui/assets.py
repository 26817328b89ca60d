"""The page's CSS and its one small script (no network, no framework).

The script does four things the chat's sanitised HTML cannot: it turns a click on a chip
(`<a href="#rapport-…">`) into an event for the app through a hidden textbox; it opens the
source panel as an overlay on a phone and closes it (link, Escape) with focus returned to the
chip; it scrolls the panel's table box to the marked cell whenever the panel changes; and it
gives chat messages plain-text accessible names (Gradio puts a message's raw HTML in its
aria-label) and names the unnamed icon buttons Gradio renders.
"""

from __future__ import annotations

BUS_ID = "rapport-bus"

JS = """
() => {
  if (window.__rapport) return;
  window.__rapport = true;
  const BUS = '#BUS_ID textarea, #BUS_ID input';
  let lastChip = null;
  const send = (payload) => {
    const box = document.querySelector(BUS);
    if (!box) return;
    box.value = payload + '|' + Date.now() + Math.random().toString(36).slice(2, 6);
    box.dispatchEvent(new Event('input', {bubbles: true}));
  };
  const openSource = () => {
    document.body.classList.add('rapport-source-open');
    if (window.matchMedia('(max-width: 800px)').matches) {
      setTimeout(() => { const h = document.querySelector('#source .src-title'); if (h) h.focus(); }, 150);
    }
  };
  const closeSource = () => {
    document.body.classList.remove('rapport-source-open');
    if (lastChip && document.body.contains(lastChip)) lastChip.focus();
  };
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href^="#rapport-"]');
    if (!a) return;
    e.preventDefault();
    e.stopPropagation();
    const what = a.getAttribute('href').slice('#rapport-'.length);
    if (what === 'close') { closeSource(); return; }
    if (what === 'ask') {
      const q = a.querySelector('.chip-q');
      send('ask|' + (q ? q.textContent : a.textContent).trim());
      return;
    }
    if (what.startsWith('src-')) { lastChip = a; send(what); openSource(); }
  }, true);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && document.body.classList.contains('rapport-source-open')) closeSource();
  });
  const scrollToHit = () => {
    const panel = document.querySelector('#source');
    if (!panel) return;
    const hit = panel.querySelector('td.cell-hit') || panel.querySelector('tr.row-hit') || panel.querySelector('mark.quote-hit');
    if (!hit) return;
    const box = hit.closest('.table-scroll');
    if (box) {
      const row = hit.closest('tr') || hit;
      const head = box.querySelector('thead');
      const headH = head ? head.offsetHeight : 0;
      box.scrollTop = Math.max(0, row.offsetTop - headH - (box.clientHeight - headH) / 2);
      if (hit.tagName === 'TD') {
        const first = row.querySelector('th');
        const firstW = first ? first.offsetWidth : 0;
        box.scrollLeft = Math.max(0, hit.offsetLeft - firstW - (box.clientWidth - firstW - hit.offsetWidth) / 2);
      }
    } else {
      hit.scrollIntoView({block: 'nearest'});
    }
  };
  const plain = (el) => (el.innerText || el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 400);
  const fixNames = () => {
    document.querySelectorAll('#chat [data-testid="bot"][aria-label], #chat [data-testid="user"][aria-label]').forEach((el) => {
      const en = (document.documentElement.lang || '').startsWith('en');
      const who = el.getAttribute('data-testid') === 'user' ? (en ? 'You' : 'Du') : (en ? 'Answer' : 'Svar');
      const want = who + ': ' + plain(el);
      if (el.getAttribute('aria-label') !== want) el.setAttribute('aria-label', want);
    });
    document.querySelectorAll('button[aria-label=""], button:not([aria-label])').forEach((b) => {
      if (plain(b)) return;
      if (b.parentElement && b.parentElement.closest('[role="button"]')) {
        // an icon button inside Gradio's «thought» title, which is itself the button: keep the icon only
        const span = document.createElement('span');
        span.className = b.className;
        span.setAttribute('aria-hidden', 'true');
        span.innerHTML = b.innerHTML;
        b.replaceWith(span);
      } else if (b.getAttribute('title')) b.setAttribute('aria-label', b.getAttribute('title'));
    });
  };
  let timer = null;
  let sourceChanged = false;
  const observer = new MutationObserver((records) => {
    sourceChanged = sourceChanged || records.some((r) => r.target.closest && r.target.closest('#source'));
    clearTimeout(timer);
    timer = setTimeout(() => { fixNames(); if (sourceChanged) { sourceChanged = false; scrollToHit(); } }, 40);
  });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
  fixNames();
}
"""


def page_js() -> str:
    """The page's script, wired to the app's hidden event textbox."""
    return JS.replace("BUS_ID", BUS_ID)


CSS = """
footer, .built-with, .show-api, .api-docs { display: none !important; }
#app-title h1 { margin: .2rem 0 .1rem 0; font-size: 1.6rem; }
#intro p { margin: 0 0 .4rem 0; }
#build-status:empty { display: none; }
.build-box { border: 2px solid #1f4e79; border-radius: .5rem; padding: .6rem .8rem; margin: .3rem 0 .6rem 0; background: #eef4fb; color: #0b2e4f; }
.build-box progress { width: 100%; height: 1rem; }
.build-box.failed { border-color: #8a1c1c; background: #fbeeee; color: #5c0f0f; }
#ask-hint p, #feedback-status p { margin: .2rem 0; }
.hint { color: #5c3b00; font-weight: 600; }
.status-ok { color: #1d5a2a; font-weight: 600; }
.status-error { color: #8a1c1c; font-weight: 600; }
.answer { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: flex-start; }
.answer-main { flex: 1 1 15rem; min-width: 0; }
.answer p { margin: 0 0 .35rem 0; }
.answer-text { font-size: 1.02rem; }
.answer.abstained .answer-text { font-style: italic; }
.answer-figure { font-size: 1.05rem; }
.figure-label { font-size: .85rem; color: #3b3b3b; margin-right: .2rem; }
.figure-value { font-size: 1.45rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.figure-unit { font-weight: 600; }
.figure-note { font-size: .85rem; color: #5c3b00; }
.answer-source, .answer-staff { font-size: .85rem; color: #3b3b3b; }
.dark .answer-source, .dark .figure-label, .dark .answer-staff { color: #d0d0d0; }
.badge-unsure { display: inline-block; font-size: .8rem; font-weight: 700; padding: .05rem .5rem; border-radius: .3rem;
  background: #fff1c1; color: #5c3b00; border: 1px solid #8a5a00; }
.alternatives-title, .followups-title { font-size: .9rem; font-weight: 600; margin: .3rem 0 .15rem 0 !important; }
.chips { display: flex; flex-wrap: wrap; gap: .3rem; }
a.chip { display: inline-block; border-radius: 999px; padding: .2rem .7rem; border: 2px solid #1f4e79;
  background: #e8f1fa; color: #0b2e4f !important; text-decoration: none !important; font-size: .88rem; line-height: 1.35;
  max-width: 100%; overflow-wrap: anywhere; cursor: pointer; }
a.chip:hover, a.chip:focus-visible { background: #cfe2f5; outline: 3px solid #1f4e79; outline-offset: 1px; }
a.chip-ask { border-style: dashed; }
.chip-meta { font-weight: 400; color: #2b4a66; }
.dark a.chip { background: #12324f; color: #e8f1fa !important; border-color: #7fb2e5; }
.dark .chip-meta { color: #cfe2f5; }
.answer-error .answer-text, .answer-busy .answer-text { color: #8a1c1c; font-weight: 600; font-style: normal; }
.row-chart { margin: 0; flex: 0 0 auto; max-width: 100%; }
.row-chart img { display: block; width: 240px !important; max-width: 100%; height: auto !important; background: #fff; border: 1px solid #d5d5d5; border-radius: .3rem; }
.row-chart figcaption { font-size: .8rem; color: #3b3b3b; max-width: 240px; }
ul.details { margin: 0; padding-left: 1.1rem; font-size: .9rem; }
.src-head { display: flex; justify-content: space-between; align-items: center; gap: .5rem; }
.src-title { font-weight: 700; margin: 0 0 .2rem 0; }
.src-close { display: none; }
.src-meta { font-size: .85rem; color: #3b3b3b; margin: 0 0 .3rem 0; }
.dark .src-meta { color: #d0d0d0; }
.table-scroll { overflow: auto; max-width: 100%; max-height: 62vh; position: relative; border: 1px solid #d5d5d5; }
.table-scroll:focus-visible { outline: 3px solid #1f4e79; }
table.report-table { border-collapse: separate !important; border-spacing: 0 !important; width: 100%; font-size: .9rem;
  margin: 0 !important; padding: 0 !important; border: 0 !important; }
.table-title { font-weight: 600; margin: 0 0 .25rem 0 !important; }
.table-title .unit { font-weight: 400; }
table.report-table th, table.report-table td { border: 0 !important; border-right: 1px solid #c8c8c8 !important;
  border-bottom: 1px solid #c8c8c8 !important; padding: .2rem .45rem !important; margin: 0 !important; vertical-align: top;
  background-color: #fff !important; color: #1a1a1a !important; }
table.report-table thead th { position: sticky; top: 0; z-index: 2; font-weight: 600; background-color: #eef1f5 !important; }
table.report-table th[scope="row"] { position: sticky; left: 0; z-index: 1; text-align: left; font-weight: 400; min-width: 9rem; }
table.report-table thead th:first-child { left: 0; z-index: 3; }
table.report-table tr.section-row th { position: sticky; left: 0; background-color: #f6f6f6 !important; }
table.report-table td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.report-table tr.row-hit > th, table.report-table tr.row-hit > td { background-color: #fff4c2 !important; }
table.report-table td.cell-hit { background-color: #ffd54f !important; color: #000 !important; font-weight: 700;
  outline: 3px solid #8a5a00; outline-offset: -3px; }
table.report-table th.col-hit { background-color: #fff4c2 !important; }
table.report-table tr.section-row th { text-align: left; font-weight: 600; font-style: italic; }
table.report-table tr.row-uncertain th[scope="row"]::after { content: " ?"; color: #8a5a00; }
.ln { color: #555; font-size: .8rem; font-variant-numeric: tabular-nums; }
.footnotes { font-size: .85rem; margin-top: .4rem; }
.footnotes-title { font-weight: 600; margin: 0; }
.footnotes ol { list-style: none; padding-left: 0; margin: .2rem 0; }
.fn-marker { font-weight: 600; margin-right: .3rem; }
ol.passage { list-style: none; padding-left: 0; margin: 0; font-size: .95rem; }
ol.passage li { padding: .05rem .3rem; }
ol.passage li.line-hit { background: #fff4c2; color: #1a1a1a; }
ol.passage .ln { display: inline-block; min-width: 3.2em; user-select: none; }
mark.quote-hit { background: #ffd54f; color: #000; padding: 0 .1rem; }
.src-section { font-weight: 600; margin: 0 0 .2rem 0; }
.user-question { white-space: normal; overflow-wrap: anywhere; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0, 0, 0, 0);
  white-space: nowrap; border: 0; }
#lookup-chart .row-chart img { max-width: 420px; }
@media (max-width: 800px) {
  #source-col { display: none !important; }
  body.rapport-source-open #source-col { display: flex !important; position: fixed; inset: 0; z-index: 1000; margin: 0;
    overflow: auto; padding: .5rem; background: var(--background-fill-primary, #fff); }
  body.rapport-source-open { overflow: hidden; }
  #source .src-head { position: sticky; top: -0.5rem; z-index: 5; background: var(--background-fill-primary, #fff);
    padding: .4rem 0; border-bottom: 1px solid #c8c8c8; }
  .src-close { display: inline-block; border: 2px solid #1f4e79; border-radius: .4rem; padding: .3rem .7rem; font-weight: 700;
    text-decoration: none !important; color: #0b2e4f !important; background: #e8f1fa; }
  .table-scroll { max-height: calc(100vh - 9rem); }
  .figure-value { font-size: 1.25rem; }
  table.report-table { font-size: .8rem; }
  table.report-table th, table.report-table td { padding: .15rem .3rem !important; }
  table.report-table th[scope="row"] { min-width: 7rem; max-width: 10rem; }
}
"""


def theme() -> object:
    """Gradio's default theme with a dark blue accent: white on it (buttons) and it on white (the
    selected tab) both pass WCAG AA contrast, which Gradio's orange does not."""
    import gradio as gr

    blue = gr.themes.Color(
        name="rapport", c50="#eef4fb", c100="#d9e6f4", c200="#b3cde8", c300="#8fb3d9", c400="#3f6f9f",
        c500="#1f4e79", c600="#1a4268", c700="#153657", c800="#102a45", c900="#0b1e33", c950="#071422",
    )
    return gr.themes.Default(primary_hue=blue).set(
        button_primary_background_fill="#1f4e79",
        button_primary_background_fill_hover="#163a5a",
        button_primary_text_color="#ffffff",
        button_primary_background_fill_dark="#7fb2e5",
        button_primary_text_color_dark="#0b1e33",
    )
