/**
 * API Gateway limits each WebSocket frame (32 KB) as well as each message (128 KB, which `ws`
 * enforces with maxPayload). `ws` sees whole messages only, so this reads the frame headers of
 * the raw client stream, ahead of `ws`, and reports the first data frame over the limit.
 */
export class FrameGuard {
  private header: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private stopped = false;

  constructor(
    private readonly frameBytes: number,
    private readonly onTooBig: (bytes: number) => void,
  ) {}

  /** Feeds bytes as they arrive from the client. */
  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.stopped) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, chunk.length - offset);
        this.remaining -= skip;
        offset += skip;
        continue;
      }
      const need = this.headerLength();
      const take = Math.min(need - this.header.length, chunk.length - offset);
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
      offset += take;
      if (this.header.length === this.headerLength()) this.frameStarts();
    }
  }

  /** Bytes of the frame header being read: 2, then more once the length byte is known. */
  private headerLength(): number {
    if (this.header.length < 2) return 2;
    const second = this.header[1] as number;
    const len7 = second & 0x7f;
    const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    return 2 + extended + (second & 0x80 ? 4 : 0);
  }

  private frameStarts(): void {
    const opcode = (this.header[0] as number) & 0x0f;
    const len7 = (this.header[1] as number) & 0x7f;
    const length = len7 === 126 ? this.header.readUInt16BE(2) : len7 === 127 ? Number(this.header.readBigUInt64BE(2)) : len7;
    this.header = Buffer.alloc(0);
    this.remaining = length;
    const isData = opcode < 0x08;
    if (isData && length > this.frameBytes) {
      this.stopped = true;
      this.onTooBig(length);
    }
  }
}
