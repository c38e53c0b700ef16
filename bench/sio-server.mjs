// The socket.io baseline server for the server figures: the same tiny application as realtime-server's
// /rt (echo, join, publish to a room), on npm `socket.io` with its defaults (WebSocket and long
// polling). Prints `listening on http://HOST:PORT` like realtime-server.
//   node bench/sio-server.mjs [--addr 127.0.0.1:0]
import { createServer } from "node:http";
import { Server } from "socket.io";

const addrArg = process.argv.indexOf("--addr");
const [host, port] = (addrArg > 0 ? process.argv[addrArg + 1] : "127.0.0.1:0").split(":");

const http = createServer();
const io = new Server(http, { serveClient: false, cors: { origin: true } });
io.on("connection", (socket) => {
  socket.on("echo", (value) => socket.emit("echo", value));
  socket.on("join", (room) => socket.join(room));
  socket.on("leave", (room) => socket.leave(room));
  socket.on("publish", ({ room, event, data }) => io.to(room).emit(event, data));
});
http.listen(Number(port), host, () => {
  const a = http.address();
  process.stdout.write(`listening on http://${a.address}:${a.port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
