// The project dashboard's statistics: annotations per annotator and the label distribution
// (an SVG bar chart), from GET /api/projects/{id}/stats. The server counts them over all of
// the project's tasks from its indexes, so the page reads one small answer whatever the
// project's size. Everything is rendered as text nodes (dom.js).
import { api } from './api.js';
import { h, s } from './dom.js';
import { t } from './i18n.js';

const MAX_BARS = 20;

// A count from the answer, or 0 when it is not a non-negative whole number.
function num(v) {
  return Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

// The label counts as [name, count] pairs, most used first (then by name). Relations are
// under the control name "".
export function labelEntries(labels) {
  const out = [];
  if (!labels || typeof labels !== 'object') return out;
  for (const [control, counts] of Object.entries(labels)) {
    if (!counts || typeof counts !== 'object') continue;
    const prefix = control === '' ? t('dash_relation') : control;
    for (const [label, n] of Object.entries(counts)) {
      if (num(n) > 0) out.push([`${prefix}: ${label}`, num(n)]);
    }
  }
  return out.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function annotatorName(a) {
  if (typeof a.username === 'string' && a.username) return a.username;
  return num(a.id) > 0 ? t('user_n', { id: a.id }) : '—';
}

function meanTime(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(1) : '—';
}

function barChart(entries) {
  const rowH = 22;
  const labelW = 220;
  const w = 720;
  const max = Math.max(1, ...entries.map((e) => e[1]));
  const hgt = entries.length * rowH + 10;
  const svg = s('svg', { class: 'chart label-chart', viewBox: `0 0 ${w} ${hgt}`, role: 'img', 'aria-label': t('label_dist') });
  entries.forEach(([name, n], i) => {
    const y = 5 + i * rowH;
    const bw = ((w - labelW - 60) * n) / max;
    svg.append(
      s('text', { x: labelW - 8, y: y + 15, 'text-anchor': 'end', text: name }),
      s('rect', { class: ['bar', `c${i % 10}`], x: labelW, y: y + 3, width: Math.max(1, bw), height: rowH - 6, dataset: { label: name, n } }),
      s('text', { class: 'n', x: labelW + bw + 6, y: y + 15, text: n }));
  });
  return svg;
}

export async function renderStats(container, projectId) {
  const st = (await api('GET', `/api/projects/${projectId}/stats`)) || {};
  const annotators = (Array.isArray(st.annotators) ? st.annotators : []).filter((a) => a && typeof a === 'object');
  const labelled = h('p', { class: 'muted dash-labelled', id: 'dash-labelled', text: t('dash_labelled', { n: num(st.labelled_tasks), tasks: num(st.tasks) }) });
  if (!annotators.length) {
    container.replaceChildren(labelled, h('p', { class: 'muted', text: t('dash_no_data') }));
    return;
  }
  const rows = annotators
    .sort((a, b) => num(b.submitted) - num(a.submitted) || num(a.id) - num(b.id))
    .map((a) => h('tr', { dataset: { user: num(a.id) } },
      h('td', { class: 'name', text: annotatorName(a) }),
      h('td', { class: 'num submitted', text: num(a.submitted) }),
      h('td', { class: 'num skipped', text: num(a.skipped) }),
      h('td', { class: 'num lead', text: meanTime(a.mean_lead_time) })));
  const all = labelEntries(st.labels);
  const entries = all.slice(0, MAX_BARS);
  container.replaceChildren(
    labelled,
    h('div', { class: 'dash-grid' },
      h('section', {}, h('h3', { text: t('per_annotator') }),
        h('table', { class: 'grid annotators' },
          h('thead', {}, h('tr', {}, ['col_annotator', 'col_submitted', 'col_skipped', 'col_lead'].map((k) => h('th', { text: t(k) })))),
          h('tbody', {}, rows))),
      h('section', {}, h('h3', { text: t('label_dist') }),
        entries.length ? barChart(entries) : h('p', { class: 'muted', text: '—' }),
        all.length > entries.length ? h('p', { class: 'muted hint', text: t('dash_top', { n: entries.length, total: all.length }) }) : null)));
}

// The "Pre-annotate" panel for the project's managers: a model (a trained version or an ML
// backend) to start a prediction job with, and its progress, polled until it ends. For
// everyone else GET …/predictions/models is refused and the panel stays empty.
export async function renderPreannotate(container, projectId) {
  let info;
  try {
    info = await api('GET', `/api/projects/${projectId}/predictions/models`);
  } catch (_) {
    container.replaceChildren();
    return;
  }
  const select = h('select', { id: 'preanno-model', 'aria-label': t('preanno_model') });
  for (const m of info.models || []) {
    const versions = Array.isArray(m.versions) ? m.versions : [];
    const ready = !m.trainable || versions.length > 0;
    select.appendChild(h('option', { value: `model:${m.name}`, disabled: !ready,
      text: ready ? `${m.name}${versions.length ? ` (${versions[0]})` : ''}` : t('preanno_untrained', { name: m.name }) }));
  }
  for (const b of info.backends || []) {
    select.appendChild(h('option', { value: `backend:${num(b.id)}`,
      text: t('preanno_backend', { name: b.title || b.url }) }));
  }
  const first = [...select.options].find((o) => !o.disabled);
  if (first) first.selected = true;
  const unlabeled = h('input', { type: 'checkbox', id: 'preanno-unlabeled', checked: true });
  const bar = h('progress', { id: 'preanno-bar', max: 1, value: 0, hidden: true });
  const status = h('p', { class: 'muted', id: 'preanno-status', role: 'status' });
  const button = h('button', { class: 'button', id: 'preanno-start', type: 'button', text: t('preanno'), disabled: !first });
  const show = (job) => {
    const p = job.progress || {};
    bar.hidden = false;
    bar.max = Math.max(num(p.total), 1);
    bar.value = Math.min(num(p.done), bar.max);
    status.textContent = t('preanno_progress', { status: job.status, done: num(p.done), total: num(p.total),
      predicted: num(job.predicted), failed: num(job.failed) }) + (job.error ? ` — ${job.error}` : '');
  };
  button.addEventListener('click', async () => {
    const [kind, name] = select.value.split(':');
    const body = { only_unlabeled: unlabeled.checked };
    if (kind === 'backend') body.backend = Number(name); else body.model = name;
    button.disabled = true;
    try {
      let job = await api('POST', `/api/projects/${projectId}/predictions/jobs`, body);
      show(job);
      // Poll while the page shows the panel; stop when the job ends or the page is left.
      while (job.status === 'running' && container.isConnected) {
        await new Promise((r) => setTimeout(r, 700));
        job = await api('GET', `/api/projects/${projectId}/predictions/jobs/${num(job.id)}`);
        show(job);
      }
    } catch (e) {
      status.textContent = t('error_general', { msg: e.message });
    } finally {
      button.disabled = false;
    }
  });
  container.replaceChildren(h('section', { class: 'preanno' },
    h('h3', { text: t('preanno') }),
    h('div', { class: 'preanno-row' }, select,
      h('label', {}, unlabeled, ' ', t('preanno_unlabeled')), button),
    bar, status));
}
