// `npm start`: runs the example API (:8000) and frontend (:3000) and Portico in front of them
// (:8080, examples/portico.yaml), prints the URL, and stops all three on Ctrl-C.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const children = [];

function start(name, args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'] });
  child.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    if (name === 'portico' && /serving http/.test(chunk)) {
      console.log('\n  Portico is up. Open http://localhost:8080/ in your browser (Ctrl-C stops everything).\n');
    }
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the example.`);
      stop(1);
    }
  });
  children.push(child);
}

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 300).unref();
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => process.exit(code));
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

start('api', [here('./api/server.mjs')]);
start('frontend', [here('./frontend/server.mjs')]);
start('portico', [here('../dist/src/cli/main.js'), 'run', '-c', here('./portico.yaml')]);
