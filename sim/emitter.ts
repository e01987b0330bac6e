/**
 * A minimal event emitter for the simulated runtimes' objects. Kaluma's emitter calls listeners
 * at once and throws for an 'error' nobody listens to; Espruino's queues them (emit is
 * asynchronous there). `defer` selects Espruino's behaviour.
 */
export type SimListener = (...args: any[]) => void;

export class SimEmitter {
  private simListeners: { [event: string]: SimListener[] } = {};
  /** Runs a queued emission; set by the runtime (it records what a listener throws). */
  protected simDefer: ((fn: () => void) => void) | null = null;
  /** Kaluma: an 'error' nobody listens to throws. Espruino drops it. */
  protected simThrowUnhandled = true;
  /** Receives what a listener throws (a device prints it and carries on). */
  protected simUncaught: (err: unknown) => void = (err) => {
    throw err;
  };

  on(event: string, listener: SimListener): this {
    (this.simListeners[event] ||= []).push(listener);
    return this;
  }

  addListener(event: string, listener: SimListener): this {
    return this.on(event, listener);
  }

  once(event: string, listener: SimListener): this {
    const self = this;
    const wrapper = function (this: unknown, ...args: any[]) {
      self.removeListener(event, wrapper);
      listener.apply(this, args);
    };
    return this.on(event, wrapper);
  }

  removeListener(event: string, listener: SimListener): this {
    const list = this.simListeners[event];
    if (list) {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  off(event: string, listener: SimListener): this {
    return this.removeListener(event, listener);
  }

  removeAllListeners(event?: string): this {
    if (event === undefined) this.simListeners = {};
    else delete this.simListeners[event];
    return this;
  }

  listenerCount(event: string): number {
    const list = this.simListeners[event];
    return list ? list.length : 0;
  }

  emit(event: string, ...args: any[]): boolean {
    const list = this.simListeners[event];
    if (!list || list.length === 0) {
      if (event === "error" && this.simThrowUnhandled) throw args[0] instanceof Error ? args[0] : new Error("Unhandled 'error' event: " + String(args[0]));
      return false;
    }
    const run = () => {
      for (const listener of list.slice()) {
        try {
          listener.apply(this, args);
        } catch (e) {
          this.simUncaught(e);
        }
      }
    };
    if (this.simDefer) this.simDefer(run);
    else run();
    return true;
  }
}
