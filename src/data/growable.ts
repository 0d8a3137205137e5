/** Append-only typed arrays, so that 31 M interactions never live as JS objects or strings. */
class Growable<A extends Int32Array | Float64Array> {
  private buf: A;
  length = 0;
  constructor(private readonly make: (n: number) => A) {
    this.buf = make(1024);
  }
  push(v: number): void {
    if (this.length === this.buf.length) {
      const b = this.make(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.length++] = v;
  }
  toArray(): A {
    return this.buf.slice(0, this.length) as A;
  }
}

export class GrowableInt32 extends Growable<Int32Array> {
  constructor() {
    super((n) => new Int32Array(n));
  }
}

export class GrowableFloat64 extends Growable<Float64Array> {
  constructor() {
    super((n) => new Float64Array(n));
  }
}
