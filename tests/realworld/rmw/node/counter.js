// counter.js - the read-modify-write service of tests/realworld/rmw on
// node-postgres (npm package `pg`): the same HTTP API and statements as
// tests/e2e/service/counterd.c, on node's event loop.
//
//   node counter.js --port N --dsn URI --mode naive|safe [--workers N]
//
//   GET  /health                        200 ok
//   POST /take {"id":"acct-1","qty":1}  201 taken, 409 not enough stock,
//                                       404 unknown id, 400 bad request
//
// naive: SELECT the stock, then UPDATE it to the value computed here:
// two requests that both read before either writes lose an update.
// safe: a transaction around a conditional UPDATE ... RETURNING.
//
// Each worker is one single-threaded event loop; --workers (default 2)
// runs them as a node cluster behind one port, as node services are
// deployed.  A barrier holds a worker's loop (its only thread), so the
// partner that opens the race window is a request in another worker.
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');
const { Pool } = require('pg');

function args() {
  const a = { workers: 2 };
  for (let i = 2; i < process.argv.length; i += 2)
    a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
  if (!a.port || !a.dsn || !/^(naive|safe)$/.test(a.mode || '')) {
    console.error('usage: counter.js --port N --dsn URI --mode naive|safe [--workers N]');
    process.exit(2);
  }
  return a;
}

async function takeNaive(pool, id, qty) {
  const c = await pool.connect();
  try {
    const r = await c.query('SELECT stock FROM counter WHERE id = $1', [id]);
    if (!r.rows.length) return 404;
    const stock = r.rows[0].stock;
    if (stock < qty) return 409;
    await c.query('UPDATE counter SET stock = $2 WHERE id = $1', [id, stock - qty]);
    await c.query('INSERT INTO taken (id, qty) VALUES ($1, $2)', [id, qty]);
    return 201;
  } finally {
    c.release();
  }
}

async function takeSafe(pool, id, qty) {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const r = await c.query(
      'UPDATE counter SET stock = stock - $2 WHERE id = $1 AND stock >= $2 RETURNING stock',
      [id, qty]);
    if (!r.rowCount) {
      await c.query('ROLLBACK');
      return 409;
    }
    await c.query('INSERT INTO taken (id, qty) VALUES ($1, $2)', [id, qty]);
    await c.query('COMMIT');
    return 201;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

// Ready (GET /health 200) only once every worker of the cluster listens:
// the primary hands each new connection to the next worker that listens,
// so a load started earlier would all go to the first one.
let ready = !cluster.isWorker;
process.on('message', (m) => { if (m === 'all-listening') ready = true; });

function serve(a) {
  const pool = new Pool({ connectionString: a.dsn, max: 8 });
  const take = a.mode === 'naive' ? takeNaive : takeSafe;
  const reply = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health')
      return reply(res, ready ? 200 : 503, ready ? 'ok' : 'starting');
    if (req.method !== 'POST' || req.url !== '/take') return reply(res, 404, 'not found');
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      let id, qty;
      try {
        ({ id, qty } = JSON.parse(body));
      } catch (e) {
        return reply(res, 400, 'bad json');
      }
      if (typeof id !== 'string' || !Number.isInteger(qty) || qty < 1)
        return reply(res, 400, 'expected {"id":"...","qty":N}');
      take(pool, id, qty).then(
        (status) => reply(res, status, { id, qty }),
        (e) => reply(res, 500, { error: e.message, code: e.code }));
    });
  });
  server.keepAliveTimeout = 30000;
  server.listen(Number(a.port), '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
}

const a = args();
if (cluster.isPrimary && Number(a.workers) > 1) {
  let listening = 0;
  for (let i = 0; i < Number(a.workers); i++) cluster.fork();
  cluster.on('listening', () => {
    if (++listening === Number(a.workers))
      for (const id in cluster.workers) cluster.workers[id].send('all-listening');
  });
  cluster.on('exit', (w, code) => { if (!process.exitCode) process.exitCode = code || 1; });
  process.on('SIGTERM', () => {
    for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
  });
} else {
  serve(a);
}
