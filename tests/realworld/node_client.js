// node_client.js PORT: a plain `net` TCP client for tests/realworld/node.sh.
// Sends "ping\n", prints what it received ("got ping") or the error's code
// ("error ECONNRESET"), then exits 0.  A 10 s timeout prints "timeout".
'use strict';
const net = require('net');
const port = Number(process.argv[2]);
let got = '';
const sock = net.connect({ host: '127.0.0.1', port }, () => sock.write('ping\n'));
const timer = setTimeout(() => { console.log('timeout'); process.exit(0); }, 10000);
sock.on('data', (d) => {
  got += d.toString();
  if (got.includes('\n')) {
    console.log('got ' + got.trim());
    clearTimeout(timer);
    sock.destroy();
  }
});
sock.on('error', (e) => { console.log('error ' + e.code); clearTimeout(timer); });
