// annot's web UI: a hash router over the views (#/login, #/projects, #/projects/ID,
// #/projects/ID/label, #/projects/ID/tasks/TID, #/projects/ID/review[/AID], #/projects/ID/qc)
// and the top bar
// (user, language, log out).
import { api, setCsrf, setUnauthorizedHandler, ApiError } from './api.js';
import { h } from './dom.js';
import { t, lang, setLang, onLangChange, LANGUAGES } from './i18n.js';
import { renderLabel } from './label/page.js';
import { renderReview } from './review.js';
import { renderStats, renderPreannotate } from './dashboard.js';
import { renderQc } from './qc.js';

const appEl = document.getElementById('app');
// Each route renders into its own element: a slow render of a route already left writes
// into a detached element instead of over the page that replaced it.
let view = appEl;
let me = null;
let cleanups = [];

function go(hash, force) {
  if (location.hash === hash && force) route();
  else location.hash = hash;
}

function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en');
}

function renderTopbar() {
  document.title = t('app_name');
  const nav = document.getElementById('nav');
  nav.replaceChildren(me ? h('a', { href: '#/projects', id: 'nav-projects', text: t('nav_projects') }) : '');
  document.getElementById('me').textContent = me ? t('you', { name: me.username, role: me.role }) : '';
  document.getElementById('lang-label').textContent = t('language');
  const sel = document.getElementById('lang-select');
  sel.replaceChildren(...LANGUAGES.map((l) => h('option', { value: l.code, text: l.name })));
  sel.value = lang();
  const out = document.getElementById('logout');
  out.textContent = t('logout');
  out.hidden = !me;
}

async function renderLogin() {
  const root = view;
  const user = h('input', { name: 'username', id: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { name: 'password', id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const err = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'login card' },
    h('h2', { text: t('login_title') }),
    h('label', { for: 'username', text: t('username') }), user,
    h('label', { for: 'password', text: t('password') }), pass,
    err,
    h('button', { type: 'submit', class: 'primary', text: t('sign_in') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      const r = await api('POST', '/api/auth/login', { username: user.value, password: pass.value });
      setCsrf(r.csrf);
      me = r.user;
      renderTopbar();
      go('#/projects');
    } catch (ex) {
      err.textContent = t('login_failed', { msg: ex.message });
    }
  });
  root.replaceChildren(form);
  user.focus();
}

async function renderProjects() {
  const root = view;
  const data = await api('GET', '/api/projects');
  const rows = data.results.map((p) => h('tr', { dataset: { id: p.id } },
    h('td', {}, h('a', { href: `#/projects/${p.id}`, class: 'project-link', text: p.title })),
    h('td', { class: 'num', text: p.task_number }),
    h('td', { class: 'num', text: p.total_annotations_number }),
    h('td', { class: 'num', text: p.total_predictions_number }),
    h('td', { text: fmtDate(p.created_at) })));
  root.replaceChildren(
    h('h2', { id: 'page-title', text: t('projects_title') }),
    rows.length ? h('table', { class: 'grid projects' },
      h('thead', {}, h('tr', {}, ['col_title', 'col_tasks', 'col_annotations', 'col_predictions', 'col_created']
        .map((k) => h('th', { text: t(k) })))),
      h('tbody', {}, rows)) : h('p', { class: 'muted', text: t('no_projects') }));
}

async function renderProject(id) {
  const root = view;
  const [p, tasks] = await Promise.all([
    api('GET', `/api/projects/${id}`),
    api('GET', `/api/tasks?project=${id}&page=1&page_size=50`),
  ]);
  const canReview = me && me.role !== 'annotator';
  const stats = h('div', { class: 'project-stats', id: 'project-stats' }, h('p', { class: 'muted', text: t('loading') }));
  const preanno = h('div', { class: 'project-preanno', id: 'project-preanno' });
  const stat = (key, n, cls) => h('div', { class: ['stat', cls] }, h('div', { class: 'stat-n', text: n }), h('div', { class: 'stat-k', text: t(key) }));
  const rows = tasks.tasks.map((tk) => h('tr', { dataset: { id: tk.id } },
    h('td', { class: 'num', text: tk.id }),
    h('td', { class: 'num', text: tk.total_annotations }),
    h('td', { class: 'num', text: tk.cancelled_annotations }),
    h('td', { class: 'num', text: tk.total_predictions }),
    h('td', { text: fmtDate(tk.created_at) }),
    h('td', {}, h('a', { href: `#/projects/${id}/tasks/${tk.id}`, class: 'task-link', text: t('open') }))));
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h2', { id: 'page-title', text: p.title }),
      h('span', { class: 'spacer' }),
      canReview ? h('a', { href: `#/projects/${id}/review`, class: 'button', id: 'start-review', text: t('nav_review') }) : null,
      canReview ? h('a', { href: `#/projects/${id}/qc`, class: 'button', id: 'open-qc', text: t('nav_qc') }) : null,
      h('a', { href: `#/projects/${id}/label`, class: 'button primary', id: 'start-labeling', text: t('start_labeling') })),
    h('div', { class: 'stats' },
      stat('count_tasks', p.task_number, 'tasks'),
      stat('count_annotations', p.total_annotations_number, 'annotations'),
      stat('count_predictions', p.total_predictions_number, 'predictions')),
    preanno,
    h('h3', { text: t('task_table') }),
    rows.length ? h('table', { class: 'grid tasks' },
      h('thead', {}, h('tr', {}, ['col_id', 'col_annotations', 'col_cancelled', 'col_predictions', 'col_created', 'col_open']
        .map((k) => h('th', { text: t(k) })))),
      h('tbody', {}, rows)) : h('p', { class: 'muted', text: t('no_tasks') }),
    stats);
  // For managers: models and backends from GET /api/projects/{id}/predictions/models.
  // Pre-annotation is for the project's managers (a reviewer would be refused with 403).
  const canManage = me && (me.role === 'admin' || me.role === 'manager');
  if (canManage) renderPreannotate(preanno, id).catch(() => preanno.replaceChildren());
  // Filled in after the page is up, from GET /api/projects/{id}/stats.
  renderStats(stats, id).catch((e) => {
    stats.replaceChildren(h('p', { class: 'form-error', text: t('error_general', { msg: e.message }) }));
  });
}

async function route() {
  for (const fn of cleanups) fn();
  cleanups = [];
  renderTopbar();
  view = h('div', { class: 'view' });
  appEl.replaceChildren(view);
  const root = view;
  const path = (location.hash || '#/projects').slice(1);
  if (!me && path !== '/login') {
    try {
      me = await api('GET', '/api/current-user/whoami');
      renderTopbar();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) { go('#/login'); return; }
      throw e;
    }
  }
  let m;
  try {
    if (path === '/login') await renderLogin();
    else if (path === '/projects' || path === '/' || path === '') await renderProjects();
    else if ((m = /^\/projects\/(\d+)$/.exec(path))) await renderProject(m[1]);
    else if ((m = /^\/projects\/(\d+)\/label$/.exec(path))) {
      await renderLabel(root, { projectId: m[1], me, go, cleanup: (fn) => cleanups.push(fn) });
    } else if ((m = /^\/projects\/(\d+)\/tasks\/(\d+)$/.exec(path))) {
      await renderLabel(root, { projectId: m[1], taskId: m[2], me, go, cleanup: (fn) => cleanups.push(fn) });
    } else if ((m = /^\/projects\/(\d+)\/review(?:\/(\d+))?$/.exec(path))) {
      await renderReview(root, { projectId: m[1], annotationId: m[2], me, go, cleanup: (fn) => cleanups.push(fn) });
    } else if ((m = /^\/projects\/(\d+)\/qc$/.exec(path))) {
      await renderQc(root, { projectId: m[1], me });
    } else root.replaceChildren(h('p', { class: 'muted', text: t('not_found') }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    root.replaceChildren(h('p', { class: 'form-error', role: 'alert', text: t('error_general', { msg: e.message }) }));
  }
}

setUnauthorizedHandler(() => {
  me = null;
  setCsrf(null);
  go('#/login');
});

document.getElementById('lang-select').addEventListener('change', (e) => setLang(e.target.value));
document.getElementById('logout').addEventListener('click', async () => {
  try { await api('POST', '/api/auth/logout'); } catch (_) { /* the session is gone either way */ }
  me = null;
  setCsrf(null);
  go('#/login');
});
onLangChange(() => route());
window.addEventListener('hashchange', route);
route();
