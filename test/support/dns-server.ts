// A small authoritative DNS server on loopback UDP for tests: answers TXT queries from a table the
// test edits, NXDOMAIN for unknown names. The service reaches it through DNS_SERVERS like any
// real resolver.
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

export class TestDnsServer {
  private readonly socket = dgram.createSocket('udp4');
  private readonly txt = new Map<string, string[]>();
  /** Queries received, for assertions that a look-up really happened. */
  readonly queries: Array<{ name: string; type: string }> = [];

  setTxt(name: string, values: string[]): void {
    this.txt.set(name.toLowerCase(), values);
  }

  clear(name: string): void {
    this.txt.delete(name.toLowerCase());
  }

  async start(): Promise<string> {
    this.socket.on('message', (message, remote) => {
      let query: dnsPacket.Packet;
      try {
        query = dnsPacket.decode(message);
      } catch {
        return;
      }
      const question = query.questions?.[0];
      if (!question) return;
      this.queries.push({ name: question.name, type: question.type });
      const values = this.txt.get(question.name.toLowerCase());
      const answers: dnsPacket.Answer[] =
        values && question.type === 'TXT'
          ? values.map((value) => ({ type: 'TXT', name: question.name, ttl: 60, class: 'IN', data: value }))
          : [];
      const response = dnsPacket.encode({
        id: query.id,
        type: 'response',
        flags: dnsPacket.AUTHORITATIVE_ANSWER | (values ? 0 : 3), // rcode 3 = NXDOMAIN
        questions: [question],
        answers,
      });
      this.socket.send(response, remote.port, remote.address);
    });
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return `127.0.0.1:${this.socket.address().port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
