/** The transport contract on the Node board (TCP and TLS). */
import { NodeTransport, type NodeTlsOptions } from "../../boards/node/transport.ts";
import { localCertificate } from "./tls-fixture.ts";
import { transportContract, type Harness } from "./transport.ts";


/** Node transports, closed when the test is done (nothing else stops them). */
function nodeHarness(tlsOptions?: NodeTlsOptions): Harness {
  const made: NodeTransport[] = [];
  return {
    transport: () => {
      const t = new NodeTransport(tlsOptions);
      made.push(t);
      return t;
    },
    maxWrite: 4096,
    dispose: () => {
      for (const t of made) t.close();
    },
  };
}

transportContract("Node", () => nodeHarness());

const cert = localCertificate();
if (cert) {
  transportContract("Node TLS", () => nodeHarness({ ca: cert.cert }), { tls: cert });
}
