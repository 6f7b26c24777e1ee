// The review screen (#/projects/ID/review[/AID]): a page of the project's annotations by the
// state of their latest review (GET /api/projects/ID/annotations?status=), one of them shown
// with its task as submitted (read-only), and accept or reject with a comment
// (POST /api/annotations/AID/reviews), with the QC findings about it (qc.js). For reviewers,
// managers and admins. When the project's annotated tasks have caption–image alignment scores
// (score_versions: predictions "similarity:A:B"), the list can be ordered by them, lowest
// first (?order=score:VERSION), so the worst-aligned pairs are reviewed first.
import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { t, lang } from './i18n.js';
import { Editor } from './label/editor.js';
import { buildViews } from './label/page.js';
import { annotationFindings } from './qc.js';

const PAGE_SIZE = 25;
const STATUSES = ['unreviewed', 'accepted', 'rejected', 'all'];

function annotationList(data) {
  if (Array.isArray(data)) return { list: data, total: data.length };
  if (data && Array.isArray(data.annotations)) return { list: data.annotations, total: data.total ?? data.annotations.length };
  if (data && Array.isArray(data.results)) return { list: data.results, total: data.count ?? data.results.length };
  return { list: [], total: 0 };
}

function stateOf(a) {
  if (a.review_state) return a.review_state;
  if (a.last_review) return a.last_review.accepted ? 'accepted' : 'rejected';
  return 'unreviewed';
}

function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en');
}

// Usernames by id when the server lets me list users (managers, admins); else "user N".
export async function userNames(me) {
  if (!me || (me.role !== 'admin' && me.role !== 'manager')) return new Map();
  try {
    const data = await api('GET', '/api/users');
    const list = Array.isArray(data) ? data : (data && (data.users || data.results)) || [];
    return new Map(list.map((u) => [u.id, u.username]));
  } catch (_) {
    return new Map();
  }
}

export function whoName(names, id) {
  if (id === null || id === undefined) return '—';
  return names.get(id) || t('user_n', { id });
}

export async function renderReview(root, { projectId, annotationId, me, go, cleanup }) {
  const status = sessionStorage.getItem('annot.review.status') || 'unreviewed';
  const pageNo = Number(sessionStorage.getItem('annot.review.page') || '1') || 1;
  const order = sessionStorage.getItem('annot.review.order') || '';
  const project = await api('GET', `/api/projects/${projectId}`);
  let data;
  try {
    const orderParam = order ? `&order=${encodeURIComponent(order)}` : '';
    data = await api('GET', `/api/projects/${projectId}/annotations?status=${status}&page=${pageNo}&page_size=${PAGE_SIZE}${orderParam}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && /no such path/.test(e.message)) {
      root.replaceChildren(h('h2', { text: t('review_title', { title: project.title }) }),
        h('p', { class: 'notice unsupported', id: 'review-missing', text: t('review_missing') }));
      return;
    }
    throw e;
  }
  const names = await userNames(me);
  const { list, total } = annotationList(data);

  const filter = h('select', { id: 'review-status', on: { change: () => {
    sessionStorage.setItem('annot.review.status', filter.value);
    sessionStorage.setItem('annot.review.page', '1');
    go(`#/projects/${projectId}/review`, true);
  } } }, STATUSES.map((st) => h('option', { value: st, text: st === 'all' ? '—' : t(`status_${st}`) })));
  filter.value = status;
  // Order: shown only when there are alignment scores to order by.
  const versions = (data && Array.isArray(data.score_versions)) ? data.score_versions : [];
  let orderBar = null;
  if (versions.length) {
    const orderSel = h('select', { id: 'review-order', on: { change: () => {
      sessionStorage.setItem('annot.review.order', orderSel.value);
      sessionStorage.setItem('annot.review.page', '1');
      go(`#/projects/${projectId}/review`, true);
    } } }, [h('option', { value: '', text: t('order_submitted') }),
      h('option', { value: '-id', text: t('order_newest') }),
      ...versions.map((v) => h('option', { value: `score:${v}`,
        text: versions.length > 1 ? t('order_alignment_of', { version: v.replace(/^similarity:/, '') }) : t('order_alignment') }))]);
    orderSel.value = [...orderSel.options].some((o) => o.value === order) ? order : '';
    orderBar = [h('label', { for: 'review-order', text: t('review_order') }), orderSel];
  }
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const turn = (d) => {
    sessionStorage.setItem('annot.review.page', String(pageNo + d));
    go(`#/projects/${projectId}/review`, true);
  };
  const rows = list.map((a) => h('tr', { class: String(a.id) === String(annotationId) && 'current', dataset: { id: a.id } },
    h('td', { class: 'num' }, h('a', { href: `#/projects/${projectId}/review/${a.id}`, class: 'review-link', text: a.id })),
    h('td', { class: 'num', text: a.task, title: typeof a.score === 'number' ? t('alignment_score', { score: a.score.toFixed(3) }) : null }),
    h('td', { text: whoName(names, a.completed_by) }),
    h('td', { text: fmtDate(a.created_at) }),
    h('td', { class: `status-${stateOf(a)}`, text: t(`status_${stateOf(a)}`) }),
    h('td', { class: 'num', text: a.review_count ?? '' })));
  const listEl = h('section', { class: 'review-list-wrap' },
    h('div', { class: 'filter-bar' }, h('label', { for: 'review-status', text: t('review_status') }), filter,
      ...(orderBar || [])),
    rows.length ? h('table', { class: 'grid review-list' },
      h('thead', {}, h('tr', {}, ['col_id', 'col_task', 'col_annotator', 'col_created', 'col_status', 'col_reviewed']
        .map((k) => h('th', { text: t(k) })))),
      h('tbody', {}, rows)) : h('p', { class: 'muted', id: 'no-review-items', text: t('no_annotations') }),
    pages > 1 ? h('div', { class: 'pager' },
      h('button', { type: 'button', text: t('prev_page'), disabled: pageNo <= 1, on: { click: () => turn(-1) } }),
      h('span', { text: `${t('page_n', { n: pageNo })} / ${pages}` }),
      h('button', { type: 'button', text: t('next_page'), disabled: pageNo >= pages, on: { click: () => turn(1) } })) : null);

  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h2', { id: 'page-title', text: t('review_title', { title: project.title }) }),
      h('a', { href: `#/projects/${projectId}`, class: 'button', text: t('back_to_project') })),
    listEl);
  if (!annotationId) return;

  // One annotation with its task, as submitted.
  const [ann, config] = await Promise.all([
    api('GET', `/api/annotations/${annotationId}`),
    api('GET', `/api/projects/${projectId}/config`),
  ]);
  const task = await api('GET', `/api/tasks/${ann.task}`);
  const editor = new Editor(`review.${annotationId}`);
  editor.saveDraft = () => {}; // nothing here is kept
  editor.load(ann.result || []);
  const built = buildViews({ editor, config, task, cleanup });
  editor.subscribe(() => { for (const v of built.views) v.render(); });
  editor.emit();

  const history = h('ul', { class: 'review-history' });
  async function loadHistory() {
    let revs = [];
    try { revs = await api('GET', `/api/annotations/${annotationId}/reviews`); } catch (_) { /* shown empty */ }
    revs = Array.isArray(revs) ? revs : (revs && (revs.reviews || revs.results)) || [];
    history.replaceChildren(...(revs.length ? revs.map((r) => h('li', { class: r.accepted ? 'status-accepted' : 'status-rejected' },
      t(r.accepted ? 'accepted_by' : 'rejected_by', { who: whoName(names, r.reviewer) }),
      r.comment ? ` — ${r.comment}` : '', h('span', { class: 'muted', text: ` · ${fmtDate(r.created_at)}` })))
      : [h('li', { class: 'muted', text: t('no_reviews') })]));
  }
  const comment = h('textarea', { id: 'review-comment', rows: 3, placeholder: t('review_comment') });
  const msg = h('p', { class: 'form-error', role: 'alert' });
  const findings = await annotationFindings(projectId, annotationId);
  const own = me && ann.completed_by === me.id;
  const decide = async (accepted) => {
    msg.textContent = '';
    try {
      await api('POST', `/api/annotations/${annotationId}/reviews`, { accepted, comment: comment.value });
      comment.value = '';
      msg.replaceWith(h('p', { class: 'notice ok', id: 'review-saved', text: t('review_saved') }));
      go(`#/projects/${projectId}/review/${annotationId}`, true);
    } catch (e) {
      msg.textContent = t('error_general', { msg: e.message });
    }
  };
  const box = h('section', { class: 'control review-box' },
    h('h3', { class: 'control-name', text: `${t('review')} · #${ann.id} · ${t('task_n', { id: ann.task })} · ${whoName(names, ann.completed_by)}` }),
    ann.was_cancelled ? h('p', { class: 'notice', text: t('skipped') }) : null,
    comment,
    h('div', { class: 'review-actions' },
      h('button', { type: 'button', class: 'primary accept', text: t('accept'), disabled: own, on: { click: () => decide(true) } }),
      h('button', { type: 'button', class: 'reject', text: t('reject'), disabled: own, on: { click: () => decide(false) } })),
    msg,
    h('h4', { text: t('review_findings') }), findings,
    h('h4', { text: t('review_history') }), history);
  built.controlsEl.prepend(box);
  root.append(
    h('p', { class: 'notice', text: t('review_readonly') }),
    h('div', { class: 'label-screen readonly review-task' }, built.objectsEl, built.controlsEl));
  await loadHistory();
}
