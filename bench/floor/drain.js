// Reads a stream to its end as Sluice's metering copy is read: a 64 KiB BYOB
// read takes whatever is queued, then waits 50 ms. The stream Workers here share it.
export async function drain(stream) {
  const reader = stream.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(64 * 1024);
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer));
    if (done) return;
    buffer = value.buffer;
    if (value.byteLength < buffer.byteLength) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
