// Preloaded into peer gateways so they listen on 127.0.0.1 only, whatever address they ask for.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  if (typeof args[0] === "object" && args[0] !== null) {
    args[0] = { ...args[0], host: "127.0.0.1" };
  } else if (typeof args[0] === "number" || typeof args[0] === "string") {
    const callback = typeof args.at(-1) === "function" ? args.at(-1) : undefined;
    args = callback ? [args[0], "127.0.0.1", callback] : [args[0], "127.0.0.1"];
  }
  return listen.apply(this, args);
};
