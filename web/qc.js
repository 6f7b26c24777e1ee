// The QC page (#/projects/ID/qc), for reviewers, managers and admins: the project's QC report
// — the same self-contained HTML `annot qc report` writes, from GET
// /api/projects/ID/qc/report.html — in a sandboxed frame (no scripts may run in it; the page
// has none and its own CSP forbids them), and the stored findings (GET
// /api/projects/ID/qc/findings) filtered by rule and annotator, a page at a time with the
// keyset "next" the server answers. Everything from the server is shown as text (dom.js).
import { api } from './api.js';
import { h } from './dom.js';
import { t, lang } from './i18n.js';
import { userNames, whoName } from './review.js';

const PAGE_SIZE = 50;

function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en');
}

function severityText(sev) {
  return sev === 'error' || sev === 'warning' ? t(`severity_${sev}`) : String(sev ?? '');
}

// One finding as a table row; the task links to the review of its annotation when it has one.
function findingRow(projectId, f, names) {
  const link = f.annotation
    ? h('a', { href: `#/projects/${projectId}/review/${f.annotation}`, class: 'finding-link', text: f.annotation })
    : '—';
  return h('tr', { class: `severity-${f.severity === 'error' ? 'error' : 'warning'}`, dataset: { id: f.id } },
    h('td', { class: 'num', text: f.task }),
    h('td', { class: 'num' }, link),
    h('td', { text: whoName(names, f.annotator) }),
    h('td', { class: 'rule', text: f.rule }),
    h('td', { class: 'severity', text: severityText(f.severity) }),
    h('td', { class: 'place', text: f.place }),
    h('td', { class: 'message', text: f.message }),
    h('td', { text: fmtDate(f.created_at) }));
}

export async function renderQc(root, { projectId, me }) {
  const project = await api('GET', `/api/projects/${projectId}`);
  const names = await userNames(me);
  const src = `/api/projects/${projectId}/qc/report.html`;
  // No allow-scripts, no allow-same-origin: the report is inert and cannot reach the app.
  const frame = h('iframe', { class: 'qc-report-frame', id: 'qc-report', sandbox: '', src, title: t('qc_report') });

  const rule = h('input', { id: 'qc-rule', name: 'rule', autocomplete: 'off' });
  const who = h('input', { id: 'qc-annotator', name: 'annotator', autocomplete: 'off' });
  const body = h('tbody');
  const status = h('p', { class: 'muted', id: 'qc-findings-status' });
  const err = h('p', { class: 'form-error', role: 'alert' });
  const more = h('button', { type: 'button', id: 'qc-more', text: t('qc_more'), hidden: true });
  let next = null;
  let shown = 0;
  let query = '';

  async function load(reset) {
    err.textContent = '';
    if (reset) {
      const q = new URLSearchParams({ page_size: String(PAGE_SIZE) });
      if (rule.value.trim()) q.set('rule', rule.value.trim());
      if (who.value.trim()) q.set('annotator', who.value.trim());
      query = q.toString();
      next = null;
      shown = 0;
      body.replaceChildren();
    }
    let data;
    try {
      data = await api('GET', `/api/projects/${projectId}/qc/findings?${query}${next ? `&after=${next}` : ''}`);
    } catch (e) {
      err.textContent = t('error_general', { msg: e.message });
      more.hidden = true;
      return;
    }
    const list = Array.isArray(data && data.findings) ? data.findings : [];
    body.append(...list.map((f) => findingRow(projectId, f, names)));
    shown += list.length;
    next = Number.isSafeInteger(data && data.next) ? data.next : null;
    more.hidden = next === null;
    status.textContent = shown ? t('qc_shown', { n: shown }) : t('qc_no_findings');
  }
  more.addEventListener('click', () => load(false));
  const form = h('form', { class: 'filter-bar qc-filter' },
    h('label', { for: 'qc-rule', text: t('qc_filter_rule') }), rule,
    h('label', { for: 'qc-annotator', text: t('qc_filter_annotator') }), who,
    h('button', { type: 'submit', text: t('qc_apply') }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load(true);
  });

  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h2', { id: 'page-title', text: t('qc_title', { title: project.title }) }),
      h('span', { class: 'spacer' }),
      h('a', { href: src, class: 'button', target: '_blank', rel: 'noopener', text: t('qc_open_report') }),
      h('a', { href: `#/projects/${projectId}`, class: 'button', text: t('back_to_project') })),
    h('section', { class: 'qc-report' }, h('h3', { text: t('qc_report') }), frame),
    h('section', { class: 'qc-findings' }, h('h3', { text: t('qc_findings') }), form,
      h('table', { class: 'grid findings', id: 'qc-findings' },
        h('thead', {}, h('tr', {}, ['col_task', 'col_id', 'col_annotator', 'col_rule', 'col_severity', 'col_place', 'col_message', 'col_created']
          .map((k) => h('th', { text: t(k) })))),
        body),
      status, err, more));
  await load(true);
}

// The findings of one annotation, for the review screen: rule, severity, message and place.
export async function annotationFindings(projectId, annotationId) {
  const list = h('ul', { class: 'review-findings', id: 'review-findings' });
  let data = null;
  try {
    data = await api('GET', `/api/projects/${projectId}/qc/findings?annotation=${annotationId}&page_size=100`);
  } catch (e) {
    list.append(h('li', { class: 'form-error', text: t('error_general', { msg: e.message }) }));
    return list;
  }
  const found = Array.isArray(data && data.findings) ? data.findings : [];
  if (!found.length) list.append(h('li', { class: 'muted', text: t('review_no_findings') }));
  for (const f of found) {
    list.append(h('li', { class: `finding severity-${f.severity === 'error' ? 'error' : 'warning'}`, dataset: { rule: f.rule } },
      h('span', { class: 'severity', text: severityText(f.severity) }), ' ',
      h('span', { class: 'rule', text: f.rule }), ': ',
      h('span', { class: 'message', text: f.message }),
      f.place ? h('code', { class: 'place', text: f.place }) : null));
  }
  return list;
}
