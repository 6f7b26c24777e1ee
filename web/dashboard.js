// The project dashboard's statistics: annotations per annotator and the label distribution
// (an SVG bar chart). The server has no statistics endpoint yet, so they are counted here
// from task pages (GET /api/tasks) and each annotated task's annotations, over at most
// MAX_TASKS tasks; the section says when it counted a sample.
import { api } from './api.js';
import { h, s } from './dom.js';
import { t } from './i18n.js';
import { userNames, whoName } from './review.js';

const MAX_TASKS = 300;
const PAGE = 100;
const PARALLEL = 6;
const LABEL_KEYS = ['labels', 'choices', 'rectanglelabels', 'polygonlabels', 'keypointlabels'];
const MAX_BARS = 20;

async function annotatedTasks(projectId) {
  const out = [];
  let seen = 0;
  for (let page = 1; seen < MAX_TASKS; page++) {
    const data = await api('GET', `/api/tasks?project=${projectId}&page=${page}&page_size=${PAGE}`);
    const list = (data && (data.tasks || data.results)) || [];
    seen += list.length;
    for (const tk of list) if (tk.total_annotations > 0 || tk.cancelled_annotations > 0) out.push(tk.id);
    if (list.length < PAGE) break;
  }
  return { ids: out, seen };
}

async function allAnnotations(ids) {
  const out = [];
  let next = 0;
  async function worker() {
    while (next < ids.length) {
      const id = ids[next++];
      const list = await api('GET', `/api/tasks/${id}/annotations`);
      out.push(...(Array.isArray(list) ? list : (list && list.annotations) || []));
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return out;
}

// Counts per annotator and per label ("control: label").
export function count(annotations) {
  const people = new Map();
  const labels = new Map();
  for (const a of annotations) {
    const p = people.get(a.completed_by) || { submitted: 0, skipped: 0, lead: 0, leadN: 0 };
    if (a.was_cancelled) p.skipped++;
    else p.submitted++;
    if (typeof a.lead_time === 'number') { p.lead += a.lead_time; p.leadN++; }
    people.set(a.completed_by, p);
    if (a.was_cancelled) continue;
    for (const r of a.result || []) {
      const lists = r.type === 'relation' ? [r.labels] : LABEL_KEYS.map((k) => r.value && r.value[k]);
      for (const l of lists) {
        if (!Array.isArray(l)) continue;
        for (const x of l) {
          const key = r.type === 'relation' ? `relation: ${x}` : `${r.from_name}: ${x}`;
          labels.set(key, (labels.get(key) || 0) + 1);
        }
      }
    }
  }
  return { people, labels };
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

export async function renderStats(container, projectId, me) {
  const { ids, seen } = await annotatedTasks(projectId);
  const annotations = await allAnnotations(ids);
  const names = await userNames(me);
  const { people, labels } = count(annotations);
  if (!annotations.length) {
    container.replaceChildren(h('p', { class: 'muted', text: t('dash_no_data') }));
    return;
  }
  const rows = [...people.entries()].sort((a, b) => b[1].submitted - a[1].submitted).map(([id, p]) => h('tr', { dataset: { user: id } },
    h('td', { text: whoName(names, id) }),
    h('td', { class: 'num submitted', text: p.submitted }),
    h('td', { class: 'num skipped', text: p.skipped }),
    h('td', { class: 'num', text: p.leadN ? (p.lead / p.leadN).toFixed(1) : '—' })));
  const entries = [...labels.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_BARS);
  container.replaceChildren(
    h('div', { class: 'dash-grid' },
      h('section', {}, h('h3', { text: t('per_annotator') }),
        h('table', { class: 'grid annotators' },
          h('thead', {}, h('tr', {}, ['col_annotator', 'col_submitted', 'col_skipped', 'col_lead'].map((k) => h('th', { text: t(k) })))),
          h('tbody', {}, rows))),
      h('section', {}, h('h3', { text: t('label_dist') }), entries.length ? barChart(entries) : h('p', { class: 'muted', text: '—' }))),
    h('p', { class: 'muted hint', text: t('dash_sampled', { n: annotations.length, tasks: seen }) }));
}
