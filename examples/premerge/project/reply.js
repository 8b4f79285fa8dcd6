/** The protocol: one request line in, one reply line out. Kept apart from the socket code so it is unit-tested. */
export function reply(line) {
  const [command, ...rest] = line.split(' ');
  switch (command) {
    case 'PING':
      return '+PONG';
    case 'ECHO':
      return rest.join(' ');
    case 'QUIT':
      return '+BYE';
    default:
      return `-ERR unknown command '${command}'`;
  }
}
