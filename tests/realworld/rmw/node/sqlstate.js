// sqlstate.js URI TABLE - node-postgres meets `fail sqlstate 40001 on pq.query
// where sql ~ "^UPDATE"` (in WEDGE_RULES): the UPDATE fails with its own
// error, error.code '40001', the row is unchanged and the same connection
// runs the next statement.  Without the rule the UPDATE commits.  Prints
// what it saw; exit 0 when that is what the rule (or its absence) means.
'use strict';
const { Client } = require('pg');

async function main() {
  const [uri, table, expect] = process.argv.slice(2);
  const c = new Client({ connectionString: uri });
  await c.connect();
  await c.query(`DROP TABLE IF EXISTS ${table}`);
  await c.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL)`);
  await c.query(`INSERT INTO ${table} VALUES (1, 0)`);
  let code = null;
  try {
    await c.query(`UPDATE ${table} SET v = v + $1 WHERE id = 1`, [1]);
  } catch (e) {
    code = e.code;
    console.log(`UPDATE: ${e.constructor.name} code ${e.code}: ${e.message}`);
  }
  const r = await c.query(`SELECT v FROM ${table} WHERE id = 1`);
  const v = r.rows[0].v;
  console.log(`after: v = ${v}; the connection answered the next statement`);
  await c.end();
  if (expect === 'inject' && !(code === '40001' && v === 0)) process.exit(1);
  if (expect === 'none' && !(code === null && v === 1)) process.exit(1);
}
main().catch((e) => { console.error(e); process.exit(1); });
