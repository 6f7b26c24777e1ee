// Drives annot's web UI in Debian's Chromium through playwright-core, as an annotator would:
// sign in, the project list and dashboard, a CJK + emoji span, choices, undo/redo, the
// unsaved-work draft, submit, the XSS task, skip, boxes on an image, a 422 shown at its
// control; polygons, keypoints, zoom and pan; a box grounded in a caption phrase; dialogue
// spans; pairwise and ranker; audio segments (when the server serves task media); then as
// a reviewer the review screen, the QC page (the report in a sandboxed frame, the findings,
// and a finding beside its annotation on the review screen) and the dashboard's statistics;
// and the language switch.
// run.sh builds the workspace and checks what was stored.
// Environment: BASE_URL, USERNAME, PASSWORD; SHOTS (a folder for screenshots; optional).
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS || '';
if (!BASE) throw new Error('BASE_URL must name the server');

let passed = 0;
let failed = 0;
const problems = []; // console errors, page errors, CSP reports, dialogs

function check(cond, what) {
  if (!cond) throw new Error(what);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: 'en-US' });
const page = await context.newPage();
page.setDefaultTimeout(10000);
page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('dialog', (d) => { problems.push(`dialog opened: ${d.type()} ${d.message()}`); d.dismiss(); });

async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e.message.split('\n')[0]}`);
    for (const p of problems) console.log(`  # ${p}`);
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/fail-${passed + failed}.png`, fullPage: true }).catch(() => {});
    throw e;
  }
}

async function shot(name) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

// Mouse-drags across UTF-16 units [from, to) of the text body, as a person selects text.
async function selectText(from, to, selector = '.text-body') {
  const r = await page.evaluate(([a, b, sel]) => {
    const body = document.querySelector(sel);
    const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    let pos = 0;
    let started = false;
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const len = n.data.length;
      if (!started && a < pos + len) { range.setStart(n, a - pos); started = true; }
      if (started && b <= pos + len) { range.setEnd(n, b - pos); break; }
      pos += len;
    }
    const rects = [...range.getClientRects()].filter((x) => x.width > 0);
    const first = rects[0];
    const last = rects[rects.length - 1];
    return { x1: first.left, x2: last.right, y: first.top + first.height / 2 };
  }, [from, to, selector]);
  await page.mouse.move(r.x1 + 2, r.y);
  await page.mouse.down();
  await page.mouse.move((r.x1 + r.x2) / 2, r.y, { steps: 3 });
  await page.mouse.move(r.x2 - 2, r.y, { steps: 3 });
  await page.mouse.up();
}

const spanTexts = () => page.$$eval('.text-body .hl', (els) => els.map((e) => `${e.textContent}|${e.dataset.label}`));

try {
  await step('an anonymous visitor is sent to the sign-in form', async () => {
    await page.goto(`${BASE}/`);
    await page.waitForSelector('form.login');
    check(page.url().endsWith('#/login'), `url ${page.url()}`);
  });

  await step('a wrong password is refused with a message', async () => {
    await page.fill('#username', process.env.USERNAME);
    await page.fill('#password', 'not the password');
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('form.login .form-error:not(:empty)');
  });

  await step('signing in lists the projects', async () => {
    await page.fill('#password', process.env.PASSWORD);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('table.projects');
    const titles = await page.$$eval('.project-link', (a) => a.map((x) => x.textContent));
    check(JSON.stringify(titles) === '["text","image","shapes","grounding","dialogue","compare","speech","html"]', `titles ${titles}`);
    const csrf = await page.evaluate(() => sessionStorage.getItem('annot.csrf'));
    check(csrf && csrf.length > 10, 'CSRF token kept in sessionStorage');
    const cookie = await page.evaluate(() => document.cookie);
    check(!cookie.includes('annot_session'), 'the session cookie is HttpOnly');
  });

  await step('the dashboard shows counts and the task table', async () => {
    await page.click('.project-link >> text=text');
    await page.waitForSelector('table.tasks');
    const n = await page.$$eval('.stat .stat-n', (e) => e.map((x) => x.textContent));
    check(JSON.stringify(n) === '["2","0","1"]', `counts ${n}`);
    const rows = await page.$$eval('table.tasks tbody tr', (r) => r.length);
    check(rows === 2, `rows ${rows}`);
    await shot('dashboard');
  });

  await step('the label screen starts from the prediction and shows its score', async () => {
    await page.click('#start-labeling');
    await page.waitForSelector('.text-body');
    check((await page.textContent('.task-id')) === 'Task 1', 'task 1 first');
    const note = await page.textContent('.notice.prediction');
    check(note.includes('m1') && note.includes('0.87'), `note ${note}`);
    const on = await page.$$eval('.choice.on', (e) => e.map((x) => x.dataset.choice));
    check(JSON.stringify(on) === '["Positive"]', `pre-annotated choice ${on}`);
  });

  await step('a span selected with the mouse after an emoji on CJK text gets the label', async () => {
    await page.keyboard.press('2'); // ORG
    check(await page.$('.label-btn.on[data-label="ORG"]'), 'key 2 picks ORG');
    await selectText(2, 4); // 华为: UTF-16 units 2..4 (the emoji takes 0..2)
    await page.waitForSelector('.text-body .hl');
    const spans = await spanTexts();
    check(JSON.stringify(spans) === '["华为|ORG"]', `spans ${spans}`);
    const region = await page.textContent('.region-pick');
    check(region === 'ORG: 华为', `region list ${region}`);
  });

  await step('a click deletes a span; Ctrl+Z brings it back; Ctrl+Shift+Z removes it again', async () => {
    await page.keyboard.press('3'); // LOC
    await selectText(5, 7); // 北京
    await page.waitForFunction(() => document.querySelectorAll('.text-body .hl').length === 2);
    check(JSON.stringify(await spanTexts()) === '["华为|ORG","北京|LOC"]', `spans ${await spanTexts()}`);
    await page.click('.text-body .hl[data-label="LOC"]');
    await page.waitForFunction(() => document.querySelectorAll('.text-body .hl').length === 1);
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => document.querySelectorAll('.text-body .hl').length === 2);
    await page.keyboard.press('Control+Shift+z');
    await page.waitForFunction(() => document.querySelectorAll('.text-body .hl').length === 1);
    check(JSON.stringify(await spanTexts()) === '["华为|ORG"]', `spans ${await spanTexts()}`);
  });

  await step('two regions picked in the list are linked by a relation', async () => {
    await page.keyboard.press('3'); // LOC
    await selectText(5, 7); // 北京
    await page.waitForFunction(() => document.querySelectorAll('.region-pick').length === 2);
    check(await page.isDisabled('.add-relation'), 'linking needs two regions');
    await page.click('.region-pick >> text=ORG: 华为');
    await page.click('.region-pick >> text=LOC: 北京');
    await page.click('.add-relation');
    await page.waitForSelector('.relation');
    const ends = await page.$$eval('.relation .rel-end', (e) => e.map((x) => x.textContent));
    check(JSON.stringify(ends) === '["ORG: 华为","LOC: 北京"]', `relation ${ends}`);
    check((await page.inputValue('.relation-label')) === 'works_for', 'relation label');
  });

  await step('choosing a choice replaces the predicted one', async () => {
    await page.click('.choice[data-choice="Negative"]');
    const on = await page.$$eval('.choice.on', (e) => e.map((x) => x.dataset.choice));
    check(JSON.stringify(on) === '["Negative"]', `choices ${on}`);
    await page.fill('.textarea', '华为 is an ORG');
    await page.click('.star[data-rating="4"]');
    await shot('text-task');
  });

  await step('unsaved work survives a reload', async () => {
    await page.reload();
    await page.waitForSelector('.notice.draft');
    const spans = await spanTexts();
    check(JSON.stringify(spans) === '["华为|ORG","北京|LOC"]', `spans after reload ${spans}`);
    check((await page.$$('.relation')).length === 1, 'relation after reload');
    const on = await page.$$eval('.choice.on', (e) => e.map((x) => x.dataset.choice));
    check(JSON.stringify(on) === '["Negative"]', `choices after reload ${on}`);
    check((await page.inputValue('.textarea')) === '华为 is an ORG', 'text area after reload');
    check((await page.$$('.star.on')).length === 4, 'rating after reload');
  });

  await step('Ctrl+Enter submits and the next task comes', async () => {
    await page.keyboard.press('Control+Enter');
    await page.waitForFunction(() => document.querySelector('.task-id')?.textContent === 'Task 2');
    const draft = await page.evaluate(() => localStorage.getItem('annot.draft.1'));
    check(draft === null, 'the draft is gone once submitted');
  });

  await step('task text that looks like markup is shown as text and runs nothing', async () => {
    const text = await page.textContent('.text-body');
    check(text === '<img src=x onerror=alert(1)>', `text ${text}`);
    check((await page.$$('.objects img')).length === 0, 'no img element was made');
    await page.waitForTimeout(300);
    check(!problems.some((p) => p.startsWith('dialog')), 'no dialog opened');
    await shot('xss-task');
  });

  await step('Skip moves on; with no task left the screen says so', async () => {
    await page.click('button.skip');
    await page.waitForSelector('#no-more-tasks');
  });

  await step('a field error from the server is shown at its control', async () => {
    // A stored draft with a choice the config does not have; the server answers 422.
    await page.evaluate(() => localStorage.setItem('annot.draft.1', JSON.stringify({ result: [
      { id: 'bad1', from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Furious'] } }] })));
    await page.goto(`${BASE}/#/projects/1/tasks/1`);
    await page.waitForSelector('.notice.draft');
    check((await page.textContent('button.submit')) === 'Update', 'my annotation is edited, not added');
    await page.click('button.submit');
    await page.waitForSelector('.control[data-name="sentiment"] .field-error:not(:empty)');
    const msg = await page.textContent('.control[data-name="sentiment"] .field-error');
    check(msg.includes('Furious'), `message ${msg}`);
    await shot('field-error');
    await page.evaluate(() => localStorage.removeItem('annot.draft.1'));
  });

  await step('the image task shows the image and the predicted box', async () => {
    await page.goto(`${BASE}/#/projects/2/label`);
    await page.waitForSelector('.image-stage img');
    await page.waitForFunction(() => document.querySelector('.image-stage img').naturalWidth === 200);
    await page.waitForSelector('rect.box[data-label="Person"]');
    const note = await page.textContent('.notice.prediction');
    check(note.includes('0.65'), `note ${note}`);
  });

  await step('a box is moved by dragging, drawn with a label, and removed with Delete', async () => {
    const b = await page.$eval('rect.box[data-label="Person"]', (r) => r.getBoundingClientRect().toJSON());
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width / 2 + 40, b.y + b.height / 2 + 20, { steps: 5 });
    await page.mouse.move(b.x + b.width / 2 + 80, b.y + b.height / 2 + 30, { steps: 5 });
    await page.mouse.up();
    const moved = await page.$eval('rect.box[data-label="Person"]', (r) => Number(r.getAttribute('x')));
    check(moved > 15, `x after the move ${moved}`);
    const s = await page.$eval('.image-stage', (e) => e.getBoundingClientRect().toJSON());
    await page.keyboard.press('Escape'); // deselect: with a box selected, 1 would relabel it
    await page.keyboard.press('1'); // Car
    const drag = async (x1, y1, x2, y2) => {
      await page.mouse.move(s.x + s.width * x1, s.y + s.height * y1);
      await page.mouse.down();
      await page.mouse.move(s.x + s.width * (x1 + x2) / 2, s.y + s.height * (y1 + y2) / 2, { steps: 4 });
      await page.mouse.move(s.x + s.width * x2, s.y + s.height * y2, { steps: 4 });
      await page.mouse.up();
    };
    await drag(0.6, 0.5, 0.9, 0.9);
    await page.waitForSelector('rect.box[data-label="Car"]');
    await drag(0.05, 0.7, 0.2, 0.95);
    await page.waitForFunction(() => document.querySelectorAll('rect.box').length === 3);
    await page.keyboard.press('Delete'); // the box just drawn is the selected one
    await page.waitForFunction(() => document.querySelectorAll('rect.box').length === 2);
    await shot('image-task');
    await page.click('button.submit');
    await page.waitForSelector('#no-more-tasks');
  });

  // Points in an element's box, as fractions of its size.
  const at = async (sel) => {
    const b = await page.$eval(sel, (e) => e.getBoundingClientRect().toJSON());
    return (fx, fy) => [b.x + b.width * fx, b.y + b.height * fy];
  };
  const clickAt = async (xy) => { await page.mouse.click(xy[0], xy[1]); };
  const dragFrom = async (a, b) => {
    await page.mouse.move(a[0], a[1]);
    await page.mouse.down();
    await page.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, { steps: 4 });
    await page.mouse.move(b[0], b[1], { steps: 4 });
    await page.mouse.up();
  };
  const nextScreen = async () => {
    await page.click('button.submit');
    await page.waitForSelector('#no-more-tasks');
  };
  const near = (a, b, eps) => Math.abs(a - b) <= eps;

  await step('polygons are drawn by clicking points and closed by the first point or Enter', async () => {
    await page.goto(`${BASE}/#/projects/3/label`);
    await page.waitForFunction(() => document.querySelector('.image-stage img')?.naturalWidth === 200);
    const p = await at('.image-stage');
    await page.keyboard.press('1'); // Building
    for (const xy of [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4], [0.1, 0.1]]) await clickAt(p(...xy));
    await page.waitForSelector('polygon.poly[data-label="Building"]');
    await page.keyboard.press('Escape');
    await page.keyboard.press('2'); // Road
    for (const xy of [[0.5, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.9]]) await clickAt(p(...xy));
    await page.keyboard.press('Enter');
    await page.waitForSelector('polygon.poly[data-label="Road"]');
    const pts = await page.$eval('polygon.poly[data-label="Road"]', (e) => e.getAttribute('points'));
    check(pts.split(' ').length === 4, `road points ${pts}`);
    check((await page.$$('polygon.poly')).length === 2, 'two polygons');
  });

  await step('wheel zoom keeps the point under the cursor; a keypoint placed zoomed is in image percent', async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('3'); // Eye
    const p = await at('.image-stage');
    const [x, y] = p(0.25, 0.25);
    await page.mouse.move(x, y);
    await page.mouse.wheel(0, -500);
    await page.waitForFunction(() => Number(document.querySelector('.image-stage').dataset.zoom) > 1.5);
    await page.mouse.click(x, y);
    await page.waitForSelector('line.kp[data-label="Eye"]', { state: 'attached' }); // zero length: never "visible"
    const kp = await page.$eval('line.kp', (e) => [Number(e.getAttribute('x1')), Number(e.getAttribute('y1'))]);
    check(near(kp[0], 25, 0.6) && near(kp[1], 25, 0.6), `keypoint at ${kp}`);
  });

  await step('Space+drag and the middle button pan without drawing; Fit resets', async () => {
    const p = await at('.image-stage');
    const tx = () => page.$eval('.image-inner', (e) => Number(e.style.getPropertyValue('--tx')));
    const before = await tx();
    await page.mouse.move(...p(0.5, 0.5));
    await page.keyboard.down('Space');
    await dragFrom(p(0.5, 0.5), p(0.7, 0.5));
    await page.keyboard.up('Space');
    const after = await tx();
    check(after > before + 20, `tx ${before} -> ${after}`);
    await page.mouse.move(...p(0.6, 0.6));
    await page.mouse.down({ button: 'middle' });
    await page.mouse.move(...p(0.4, 0.6), { steps: 4 });
    await page.mouse.up({ button: 'middle' });
    check((await tx()) < after - 20, 'middle-button pan');
    check((await page.$$('.boxes .region')).length === 3, 'panning drew nothing');
    await page.click('.zoom-reset');
    check((await page.$eval('.image-stage', (e) => e.dataset.zoom)) === '1', 'Fit resets the zoom');
    await shot('shapes');
    await nextScreen();
  });

  await step('grounding: a box and a caption phrase are linked by a relation', async () => {
    await page.goto(`${BASE}/#/projects/4/label`);
    await page.waitForFunction(() => document.querySelector('.image-stage img')?.naturalWidth === 200);
    const p = await at('.image-stage');
    await page.keyboard.press('1'); // Object
    await dragFrom(p(0.2, 0.3), p(0.6, 0.8));
    await page.waitForSelector('rect.box.sel[data-label="Object"]');
    await page.keyboard.press('2'); // Phrase: the box stays selected
    await selectText(2, 12); // "dark block"
    await page.waitForSelector('.text-body .hl');
    check(!(await page.isDisabled('.add-relation')), 'box and phrase are both selected');
    await page.click('.add-relation');
    await page.waitForSelector('.relation');
    const ends = await page.$$eval('.relation .rel-end', (e) => e.map((x) => x.textContent));
    check(ends[0].startsWith('Object: 20, 30, 40, 50') && ends[1] === 'Phrase: dark block', `relation ${ends}`);
    await page.click('.choice[data-choice="Matches"]');
    await shot('grounding');
    await nextScreen();
  });

  await step('dialogue: spans inside an utterance, nested, with a choice on the whole', async () => {
    await page.goto(`${BASE}/#/projects/5/label`);
    await page.waitForSelector('.utterance');
    const authors = await page.$$eval('.utt-author', (e) => e.map((x) => x.textContent));
    check(JSON.stringify(authors) === '["客户","Agent"]', `authors ${authors}`);
    await page.keyboard.press('1'); // Request
    await selectText(5, 11, '.utt-text[data-idx="0"]'); // 订去上海的票
    await page.waitForSelector('.utt-text .hl');
    await page.keyboard.press('2'); // Place
    await selectText(7, 9, '.utt-text[data-idx="0"]'); // 上海
    await page.waitForFunction(() => document.querySelectorAll('.region-pick').length === 2);
    const regions = await page.$$eval('.region-pick', (e) => e.map((x) => x.textContent));
    check(JSON.stringify(regions) === '["Request: 订去上海的票","Place: 上海"]', `regions ${regions}`);
    await page.click('.choice[data-choice="Resolved"]');
    await shot('dialogue');
    await nextScreen();
  });

  await step('pairwise with ← and →; ranker by keyboard and by drag', async () => {
    await page.goto(`${BASE}/#/projects/6/label`);
    await page.waitForSelector('.rank-item');
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('.pair-pick.on[data-side="right"]');
    check(await page.$('.object-wrap.picked[data-object="answer_b"]'), 'the right object is outlined');
    await page.keyboard.press('ArrowLeft');
    await page.waitForSelector('.pair-pick.on[data-side="left"]');
    const order = () => page.$$eval('.rank-item', (e) => e.map((x) => x.dataset.id).join(','));
    check((await order()) === 'r1,r2,r3', `start order ${await order()}`);
    await page.focus('.rank-item[data-id="r2"]');
    await page.keyboard.press('Alt+ArrowUp');
    await page.waitForFunction(() => document.querySelector('.rank-item')?.dataset.id === 'r2');
    check((await page.evaluate(() => document.activeElement.dataset.id)) === 'r2', 'focus follows the moved item');
    await page.dragAndDrop('.rank-item[data-id="r3"]', '.rank-item[data-id="r2"]', { targetPosition: { x: 20, y: 3 } });
    await page.waitForFunction(() => document.querySelector('.rank-item')?.dataset.id === 'r3');
    check((await order()) === 'r3,r2,r1', `order ${await order()}`);
    await shot('compare');
    await nextScreen();
  });

  await step('audio: the waveform is decoded, segments are dragged out, labelled and played', async () => {
    await page.goto(`${BASE}/#/projects/7/label`);
    await page.waitForSelector('.object-audio');
    const id = (await page.textContent('.task-id')).replace(/\D/g, '');
    const probe = await page.evaluate(async (tid) => {
      const r = await fetch(`/api/tasks/${tid}/media/audio`, { headers: { Range: 'bytes=0-3' } });
      return { status: r.status, body: await r.text() };
    }, id);
    if (probe.status === 404 && probe.body.includes('no such path')) {
      console.log('# skip: GET /api/tasks/{id}/media/{field} is not served yet; audio steps skipped');
      return;
    }
    await page.waitForSelector('.object-audio[data-duration], .object-audio[data-error]');
    const err = await page.$('.object-audio[data-error]');
    check(!err, `audio failed: ${err && await page.textContent('.audio-status')} (media probe ${probe.status})`);
    const dur = Number(await page.$eval('.object-audio', (e) => e.dataset.duration));
    check(near(dur, 1, 0.01), `duration ${dur}`);
    const p = await at('.wave-track');
    await page.keyboard.press('1'); // Low
    await dragFrom(p(0.05, 0.5), p(0.45, 0.5));
    await page.waitForSelector('.segment[data-label="Low"]');
    await page.keyboard.press('Escape');
    await page.keyboard.press('2'); // High
    await dragFrom(p(0.55, 0.5), p(0.95, 0.5));
    await page.waitForSelector('.segment[data-label="High"]');
    await page.click('.segment[data-label="Low"]');
    await page.waitForSelector('.segment.sel[data-label="Low"]');
    await page.click('button.play');
    const playing = await page.$eval('.object-audio', (e) => e.dataset.playing);
    const [a, b] = playing.split('-').map(Number);
    check(near(a, 0.05, 0.02) && near(b, 0.45, 0.02), `playing ${playing}`);
    await shot('audio');
    await nextScreen();
  });

  await step('HyperText renders only in a sandboxed frame: bold shows, no script runs', async () => {
    const before = problems.length;
    await page.goto(`${BASE}/#/projects/8/label`);
    await page.waitForSelector('iframe.hypertext-frame');
    const title = await page.title();
    const attrs = await page.$eval('iframe.hypertext-frame', (f) => ({
      sandbox: f.getAttribute('sandbox'), tokens: f.sandbox.length, srcdoc: f.hasAttribute('srcdoc'), src: f.hasAttribute('src') }));
    check(attrs.sandbox === '' && attrs.tokens === 0, `sandbox attribute ${JSON.stringify(attrs)}`);
    check(attrs.srcdoc && !attrs.src, `the HTML is given as srcdoc ${JSON.stringify(attrs)}`);
    const frame = await (await page.$('iframe.hypertext-frame')).contentFrame();
    check(frame, 'the frame has a document');
    await frame.waitForSelector('b');
    const bold = await frame.$eval('b', (b) => ({ text: b.textContent, weight: getComputedStyle(b).fontWeight }));
    check(bold.text === 'bold' && Number(bold.weight) >= 700, `bold in the frame ${JSON.stringify(bold)}`);
    check((await frame.$$('img')).length === 1 && (await frame.$$('script')).length === 1, 'the markup is parsed in the frame');
    // The frame is cross-origin to the page: nothing in it can read or change the page.
    const reach = await frame.evaluate(() => { try { return parent.document.title; } catch (e) { return `blocked: ${e.name}`; } });
    check(String(reach).startsWith('blocked'), `the frame reaches the page: ${reach}`);
    check(!(await page.$('.objects .text-body')), 'HyperText is not also shown as text');
    check(await page.$('.controls .notice.unsupported'), 'labels on HyperText are marked unsupported');
    await page.waitForTimeout(500);
    check((await page.title()) === title && title !== 'pwned', `page title ${await page.title()}`);
    // Expected: Chromium says it blocked the script (no allow-scripts) and the frame's own
    // policy refused the image; nothing else, and no dialog.
    const mine = problems.splice(before);
    console.log(`# frame messages: ${mine.join(' | ') || 'none'}`);
    const unexpected = mine.filter((p) => !/^console: Blocked script execution in 'about:srcdoc' because the document's frame is sandboxed/.test(p) &&
      !/^console: (Refused to load|Loading) the image '[^']*\/x' (because it )?violates the following Content Security Policy directive: "img-src data:"/.test(p));
    check(unexpected.length === 0, `unexpected: ${unexpected.join(' | ')}`);
    await page.click('.choice[data-choice="Safe"]');
    await page.fill('.textarea', 'only formatting');
    await shot('hypertext');
    await nextScreen();
  });

  await step('a reviewer lists annotations, rejects one with a comment and sees it filed', async () => {
    await page.click('#logout');
    await page.waitForSelector('form.login');
    await page.fill('#username', 'rev');
    await page.fill('#password', 'rev pass 123');
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('table.projects');
    await page.goto(`${BASE}/#/projects/1`);
    await page.click('#start-review');
    await page.waitForSelector('table.review-list, #review-missing, #no-review-items');
    if (await page.$('#review-missing')) {
      console.log('# skip: the review endpoints are not served yet; review steps skipped');
      return;
    }
    const tasks = await page.$$eval('table.review-list tbody tr td:nth-child(2)', (e) => e.map((x) => x.textContent));
    check(tasks.includes('1'), `annotations to review are of tasks ${tasks}`);
    const row = await page.$$eval('table.review-list tbody tr', (rs) => rs.find((r) => r.children[1].textContent === '1').dataset.id);
    await page.click(`.review-link >> text="${row}"`);
    await page.waitForSelector('.review-task .text-body .hl');
    check(JSON.stringify(await spanTexts()) === '["华为|ORG","北京|LOC"]', 'the annotation is shown as submitted');
    await page.fill('#review-comment', '北京 is a LOC, but the relation is doubtful');
    await page.click('button.reject');
    await page.waitForSelector('.review-history li.status-rejected');
    const filed = await page.textContent('.review-history li.status-rejected');
    check(filed.includes('北京 is a LOC'), `history ${filed}`);
    await page.selectOption('#review-status', 'rejected');
    await page.waitForFunction((id) => [...document.querySelectorAll('table.review-list tbody tr')].some((r) => r.dataset.id === id), row);
    await shot('review');
    await page.selectOption('#review-status', 'unreviewed');
  });

  await step('the QC page shows the report in a sandboxed frame and lists the findings', async () => {
    await page.goto(`${BASE}/#/projects/1`);
    await page.click('#open-qc');
    const el = await page.waitForSelector('iframe#qc-report');
    check((await el.getAttribute('sandbox')) === '', 'the report frame is sandboxed without allowances');
    const frame = await el.contentFrame();
    await frame.waitForSelector('svg');
    check((await frame.$$('svg')).length >= 2, 'the report has its charts');
    check(!(await frame.$('script')), 'no script in the report');
    const title = await frame.textContent('h1');
    check(title.includes('text'), `report title ${title}`);
    // The annotator's Negative choice broke the "positive-only" warning rule at submit.
    await page.waitForSelector('#qc-findings tbody tr');
    const rows = await page.$$eval('#qc-findings tbody tr', (rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
    const hit = rows.find((r) => r[3] === 'positive-only');
    check(hit && hit[4] === 'warning' && hit[6].startsWith('the sentiment is not Positive') && /^result\[\d+\]$/.test(hit[5]),
      `findings ${JSON.stringify(rows)}`);
    check(await page.$('#qc-more').then((b) => b.isHidden()), 'no further page');
    await shot('qc');
    await page.fill('#qc-rule', 'no-such-rule');
    await page.click('.qc-filter button[type=submit]');
    // The list empties at once and its status line is written when the answer arrives.
    await page.waitForFunction(() => !document.querySelector('#qc-findings tbody tr') &&
      document.querySelector('#qc-findings-status')?.textContent === 'No findings.');
    check((await page.textContent('#qc-findings-status')) === 'No findings.', 'an unmatched filter lists nothing');
    await page.fill('#qc-rule', 'positive-only');
    await page.click('.qc-filter button[type=submit]');
    await page.waitForSelector('#qc-findings tbody tr a.finding-link');
    // The finding's annotation on the review screen, with the finding beside it.
    await page.click('#qc-findings tbody tr a.finding-link');
    await page.waitForSelector('#review-findings li.finding');
    const f = await page.textContent('#review-findings li.finding');
    check(f.includes('positive-only') && f.includes('the sentiment is not Positive') && f.includes('result['), `review finding ${f}`);
    await shot('review-findings');
  });

  await step('the dashboard shows the server\'s counts per annotator and charts the labels', async () => {
    await page.goto(`${BASE}/#/projects/1`);
    await page.waitForSelector('#project-stats table.annotators');
    // GET /api/projects/1/stats: ann submitted task 1 and skipped task 2; the reviewer sees
    // the annotator's name; the mean time is over the submitted annotation only.
    const stats = await page.evaluate(() => fetch('/api/projects/1/stats').then((r) => r.json()));
    check(stats.tasks === 2 && stats.labelled_tasks === 1, `stats ${JSON.stringify(stats)}`);
    check(stats.annotators.length === 1 && typeof stats.annotators[0].mean_lead_time === 'number', `annotators ${JSON.stringify(stats.annotators)}`);
    const row = await page.$$eval('table.annotators tbody tr', (r) => r.map((x) => [...x.children].map((c) => c.textContent)));
    const want = [['ann', '1', '1', stats.annotators[0].mean_lead_time.toFixed(1)]];
    check(JSON.stringify(row) === JSON.stringify(want), `annotators ${JSON.stringify(row)}`);
    const labelled = await page.textContent('#dash-labelled');
    check(labelled === 'Labelled tasks: 1 of 2.', `labelled ${labelled}`);
    check(!(await page.$('#project-stats .hint')), 'no notice of a sample or a cut');
    const bars = await page.$$eval('.label-chart rect.bar', (r) => r.map((x) => `${x.dataset.label}=${x.dataset.n}`).sort());
    check(JSON.stringify(bars) === JSON.stringify(['ner: LOC=1', 'ner: ORG=1', 'relation: works_for=1', 'sentiment: Negative=1']), `bars ${bars}`);
    await shot('project-stats');
  });

  await step('the language switch changes the visible strings and is remembered', async () => {
    await page.goto(`${BASE}/#/projects`);
    await page.waitForSelector('table.projects');
    check((await page.textContent('#page-title')) === 'Projects', 'English first');
    await page.selectOption('#lang-select', 'zh');
    await page.waitForFunction(() => document.querySelector('#page-title')?.textContent === '项目');
    check((await page.textContent('#logout')) === '退出登录', 'log-out button in Chinese');
    await page.reload();
    await page.waitForSelector('table.projects');
    check((await page.textContent('#page-title')) === '项目', 'Chinese after a reload');
    await shot('zh');
    await page.selectOption('#lang-select', 'en');
    await page.waitForFunction(() => document.querySelector('#page-title')?.textContent === 'Projects');
  });

  await step('nothing broke the CSP or threw in the page', async () => {
    // Chromium logs the answers the steps asked for (the wrong password's and the signed-out
    // 401, no_more_tasks' 404, the 422) as failed resources: expected. A CSP violation is
    // logged as "Refused to ...".
    const real = problems.filter((p) => !/Failed to load resource: .* status of (401|404|422)/.test(p));
    check(real.length === 0, real.join(' | '));
  });

  await step('log out returns to the sign-in form', async () => {
    await page.click('#logout');
    await page.waitForSelector('form.login');
    const who = await page.evaluate(() => fetch('/api/current-user/whoami').then((r) => r.status));
    check(who === 401, `whoami after log out: ${who}`);
  });
} catch (_) {
  // The failing step was reported; later steps depend on it.
} finally {
  await browser.close();
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
