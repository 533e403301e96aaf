// node_server.js: an echo server on a free loopback port for node.sh (run
// without the shim).  Prints the port, then echoes every connection.
'use strict';
const net = require('net');
const srv = net.createServer((c) => { c.on('data', (d) => c.write(d)); c.on('error', () => {}); });
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
