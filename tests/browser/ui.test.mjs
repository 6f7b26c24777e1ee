// Drives annot's web UI in Debian's Chromium through playwright-core, as an annotator would:
// sign in, the project list and dashboard, a CJK + emoji span, choices, undo/redo, the
// unsaved-work draft, submit, the XSS task, skip, boxes on an image, a 422 shown at its
// control, and the language switch. run.sh builds the workspace and checks what was stored.
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
async function selectText(from, to) {
  const r = await page.evaluate(([a, b]) => {
    const body = document.querySelector('.text-body');
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
  }, [from, to]);
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
    check(JSON.stringify(titles) === '["text","image"]', `titles ${titles}`);
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
