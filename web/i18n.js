// UI strings in English and Simplified Chinese. The choice is kept in localStorage so it
// survives reloads; views re-render when it changes.
const STRINGS = {
  en: {
    app_name: 'annot',
    nav_projects: 'Projects',
    logout: 'Log out',
    language: 'Language',
    login_title: 'Sign in',
    username: 'Username',
    password: 'Password',
    sign_in: 'Sign in',
    login_failed: 'Sign-in failed: {msg}',
    projects_title: 'Projects',
    no_projects: 'No projects yet. A manager creates them with `annot project create`.',
    col_title: 'Title',
    col_tasks: 'Tasks',
    col_annotations: 'Annotations',
    col_predictions: 'Predictions',
    col_created: 'Created',
    col_id: 'ID',
    col_cancelled: 'Skipped',
    col_open: 'Open',
    open: 'Open',
    count_tasks: 'Tasks',
    count_annotations: 'Annotations',
    count_predictions: 'Predictions',
    start_labeling: 'Start labeling',
    task_table: 'Tasks (first page)',
    no_tasks: 'This project has no tasks yet.',
    back_to_project: 'Back to project',
    task_n: 'Task {id}',
    submit: 'Submit',
    update: 'Update',
    skip: 'Skip',
    undo: 'Undo',
    redo: 'Redo',
    submitted: 'Saved. Loading the next task…',
    skipped: 'Skipped. Loading the next task…',
    no_more_tasks: 'No more tasks for you in this project. Thank you!',
    prediction_loaded: 'Pre-annotated by model {model} (score {score}). Edit it, then submit.',
    draft_restored: 'Restored your unsaved work on this task.',
    regions: 'Regions',
    no_regions: 'No regions yet.',
    relations: 'Relations',
    add_relation: 'Link the two selected regions',
    relation_hint: 'Select two regions in the list to link them.',
    delete: 'Delete',
    select: 'Select',
    labels_hint: 'Pick a label (keys 1–9), then select text with the mouse. Click a highlight to delete it.',
    rect_hint: 'Pick a label (keys 1–9), then drag on the image to draw. Click a box to select it; Delete removes it; drag to move; drag the corner to resize.',
    image_not_loadable: 'The image is a file on the server and cannot be shown yet: {path}',
    textarea_placeholder: 'Type here',
    rating_label: '{n} of {max}',
    number_label: 'Number',
    unsupported: '{tag} “{name}” is not supported by this editor yet.',
    error_general: 'Error: {msg}',
    loading: 'Loading…',
    not_found: 'Not found.',
    shortcuts: 'Ctrl+Enter submits · Ctrl+Z undoes · Ctrl+Shift+Z redoes',
    you: 'Signed in as {name} ({role})',
  },
  zh: {
    app_name: 'annot',
    nav_projects: '项目',
    logout: '退出登录',
    language: '语言',
    login_title: '登录',
    username: '用户名',
    password: '密码',
    sign_in: '登录',
    login_failed: '登录失败：{msg}',
    projects_title: '项目',
    no_projects: '还没有项目。管理员可以用 `annot project create` 创建。',
    col_title: '名称',
    col_tasks: '任务',
    col_annotations: '标注',
    col_predictions: '预测',
    col_created: '创建时间',
    col_id: '编号',
    col_cancelled: '已跳过',
    col_open: '打开',
    open: '打开',
    count_tasks: '任务数',
    count_annotations: '标注数',
    count_predictions: '预测数',
    start_labeling: '开始标注',
    task_table: '任务（第一页）',
    no_tasks: '这个项目还没有任务。',
    back_to_project: '返回项目',
    task_n: '任务 {id}',
    submit: '提交',
    update: '更新',
    skip: '跳过',
    undo: '撤销',
    redo: '重做',
    submitted: '已保存，正在加载下一个任务…',
    skipped: '已跳过，正在加载下一个任务…',
    no_more_tasks: '这个项目里没有更多分配给你的任务了。谢谢！',
    prediction_loaded: '已用模型 {model} 的预测预标注（置信度 {score}）。修改后提交。',
    draft_restored: '已恢复这个任务上未保存的内容。',
    regions: '区域',
    no_regions: '还没有区域。',
    relations: '关系',
    add_relation: '关联选中的两个区域',
    relation_hint: '在列表中选择两个区域来建立关系。',
    delete: '删除',
    select: '选择',
    labels_hint: '先选标签（按键 1–9），再用鼠标选中文字。点击高亮可删除。',
    rect_hint: '先选标签（按键 1–9），再在图片上拖动画框。点击框可选中，Delete 键删除，拖动可移动，拖动角点可调整大小。',
    image_not_loadable: '图片是服务器上的文件，暂时无法显示：{path}',
    textarea_placeholder: '在此输入',
    rating_label: '{n} / {max}',
    number_label: '数值',
    unsupported: '编辑器暂不支持 {tag}“{name}”。',
    error_general: '错误：{msg}',
    loading: '加载中…',
    not_found: '未找到。',
    shortcuts: 'Ctrl+Enter 提交 · Ctrl+Z 撤销 · Ctrl+Shift+Z 重做',
    you: '当前用户 {name}（{role}）',
  },
};

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'zh', name: '简体中文' },
];

const KEY = 'annot.lang';
let current = (() => {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved && STRINGS[saved]) return saved;
  } catch (_) { /* storage may be disabled */ }
  return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
})();
const listeners = [];

export function lang() {
  return current;
}

export function setLang(code) {
  if (!STRINGS[code] || code === current) return;
  current = code;
  try { localStorage.setItem(KEY, code); } catch (_) { /* not kept, still switched */ }
  document.documentElement.lang = code === 'zh' ? 'zh-Hans' : 'en';
  for (const fn of listeners) fn(code);
}

export function onLangChange(fn) {
  listeners.push(fn);
}

// t('task_n', {id: 3}) -> "Task 3". Unknown keys show themselves so a gap is visible.
export function t(key, vars) {
  const s = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

document.documentElement.lang = current === 'zh' ? 'zh-Hans' : 'en';
