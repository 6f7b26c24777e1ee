// The editor's state for one task: the result list (Label Studio's result items), undo and
// redo stacks, the selected regions, the active label per labels control, field errors from
// the server, and the unsaved draft kept in localStorage.
const DRAFT_PREFIX = 'annot.draft.';
const UNDO_LIMIT = 200;

export function newId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  const abc = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(bytes, (b) => abc[b % abc.length]).join('').slice(0, 10);
}

const clone = (v) => JSON.parse(JSON.stringify(v));

// A region is a result item other controls can point at: spans, boxes and the like.
export function isRegion(item) {
  return item && item.type !== 'relation' && item.type !== 'choices' &&
    item.type !== 'textarea' && item.type !== 'rating' && item.type !== 'number' &&
    item.type !== 'pairwise' && item.type !== 'ranker';
}

export class Editor {
  constructor(taskId) {
    this.taskId = taskId;
    this.result = [];
    this.undoStack = [];
    this.redoStack = [];
    this.selected = [];          // region ids, in the order picked (for relations)
    this.active = new Map();     // labels control name -> active label
    this.errors = new Map();     // control name (or '' for the form) -> message
    this.listeners = [];
    this.lastCoalesce = null;
    this.dirty = false;
  }

  subscribe(fn) {
    this.listeners.push(fn);
  }

  emit() {
    for (const fn of this.listeners) fn(this);
  }

  // Sets the starting result without an undo step (task load, prediction, draft).
  load(result) {
    this.result = clone(result || []);
    this.undoStack = [];
    this.redoStack = [];
    this.selected = [];
    this.lastCoalesce = null;
    this.dirty = false;
    this.emit();
  }

  // Replaces the result with an undo step. Edits with the same coalesce key in a row (typing
  // in one text box) make one step. A result array and its items are never changed in place
  // once committed (update() edits a deep copy, patch() copies the items it touches), so the
  // undo stack keeps the old array itself: with thousands of boxes a copy per edit would
  // cost more than the edit.
  commit(next, opts = {}) {
    if (!(opts.coalesce && opts.coalesce === this.lastCoalesce)) {
      this.undoStack.push(this.result);
      if (this.undoStack.length > UNDO_LIMIT) this.undoStack.shift();
    }
    this.lastCoalesce = opts.coalesce || null;
    this.redoStack = [];
    this.result = next;
    this.afterChange();
  }

  // update(r => { r.push(item) }): edits a copy of the result and commits it.
  update(fn, opts) {
    const next = clone(this.result);
    fn(next);
    this.commit(next, opts);
  }

  // patch(ids, item => { item.value.x = 3 }): edits copies of the items with these ids only;
  // the cheap path for moving or relabelling regions.
  patch(ids, fn, opts) {
    const want = new Set(Array.isArray(ids) ? ids : [ids]);
    const next = this.result.slice();
    for (let i = 0; i < next.length; i++) {
      if (!want.has(next[i].id)) continue;
      next[i] = clone(next[i]);
      fn(next[i]);
    }
    if (this.indexOf === this.result) this.indexOf = next; // same positions
    this.commit(next, opts);
  }

  undo() {
    if (!this.undoStack.length) return false;
    this.redoStack.push(this.result);
    this.result = this.undoStack.pop();
    this.lastCoalesce = null;
    this.afterChange();
    return true;
  }

  redo() {
    if (!this.redoStack.length) return false;
    this.undoStack.push(this.result);
    this.result = this.redoStack.pop();
    this.lastCoalesce = null;
    this.afterChange();
    return true;
  }

  afterChange() {
    const ids = new Set(this.result.map((r) => r.id));
    this.selected = this.selected.filter((id) => ids.has(id));
    this.errors.clear();
    this.dirty = true;
    this.saveDraft();
    this.emit();
  }

  // Region lookup by id. The index maps ids to positions, which patch() does not change, so
  // it is rebuilt only when items are added, removed or reordered.
  byId(id) {
    let i = this.indexOf === this.result ? this.index.get(id) : undefined;
    if (i === undefined || !this.result[i] || this.result[i].id !== id) {
      if (this.indexOf === this.result && i === undefined) return undefined;
      this.index = new Map();
      this.result.forEach((r, k) => { if (r.id !== undefined && !this.index.has(r.id)) this.index.set(r.id, k); });
      this.indexOf = this.result;
      i = this.index.get(id);
    }
    return i === undefined ? undefined : this.result[i];
  }

  itemFor(fromName) {
    return this.result.find((r) => r.from_name === fromName && !isRegion(r) && r.type !== 'relation');
  }

  // Sets or removes (value === null) the single item of a classification control.
  setValue(control, toName, value, opts) {
    this.update((r) => {
      const i = r.findIndex((x) => x.from_name === control.name);
      if (value === null) {
        if (i >= 0) r.splice(i, 1);
        return;
      }
      const item = i >= 0 ? r[i] : { id: newId(), from_name: control.name, to_name: toName, type: control.type };
      item.value = value;
      if (i < 0) r.push(item);
    }, opts);
  }

  removeRegion(id) {
    this.update((r) => {
      for (let i = r.length - 1; i >= 0; i--) {
        const x = r[i];
        if (x.id === id || (x.type === 'relation' && (x.from_id === id || x.to_id === id))) r.splice(i, 1);
      }
    });
  }

  toggleSelected(id, only) {
    if (only) this.selected = this.selected.length === 1 && this.selected[0] === id ? [] : [id];
    else if (this.selected.includes(id)) this.selected = this.selected.filter((x) => x !== id);
    else this.selected = [...this.selected, id];
    this.emit();
  }

  // A region just made joins a single selected region when the config has relations, so the
  // two can be linked at once (a box, then the phrase of the caption it grounds).
  selectNew(id) {
    if (this.pairNew && this.selected.length === 1 && this.selected[0] !== id && this.byId(this.selected[0])) {
      this.selected = [this.selected[0], id];
      this.emit();
    }
  }

  setActive(controlName, label) {
    this.active = new Map([[controlName, label]]);
    this.emit();
  }

  setErrors(map) {
    this.errors = map;
    this.emit();
  }

  draftKey() {
    return DRAFT_PREFIX + this.taskId;
  }

  // Drafts are written a moment after the last change (and at once when the page is left):
  // serialising thousands of regions on every drag step would stall the editor.
  saveDraft() {
    if (this.draftTimer) return;
    // When the page is idle, but within two seconds.
    this.draftTimer = window.requestIdleCallback
      ? requestIdleCallback(() => this.flushDraft(), { timeout: 2000 })
      : setTimeout(() => this.flushDraft(), 250);
  }

  flushDraft() {
    if (this.draftTimer) (window.cancelIdleCallback || clearTimeout)(this.draftTimer);
    this.draftTimer = null;
    if (!this.dirty) return;
    try {
      localStorage.setItem(this.draftKey(), JSON.stringify({ result: this.result, saved_at: Date.now() }));
    } catch (_) { /* storage full or disabled: the work stays on screen */ }
  }

  readDraft() {
    try {
      const d = JSON.parse(localStorage.getItem(this.draftKey()) || 'null');
      return d && Array.isArray(d.result) ? d : null;
    } catch (_) {
      return null;
    }
  }

  clearDraft() {
    if (this.draftTimer) (window.cancelIdleCallback || clearTimeout)(this.draftTimer);
    this.draftTimer = null;
    try { localStorage.removeItem(this.draftKey()); } catch (_) { /* nothing kept */ }
    this.dirty = false;
  }
}
