// Address check shared by the transports, done before anything leaves the Worker.

// Conservative on purpose: whitespace, control characters or angle brackets in an address would let it
// inject SMTP commands into MAIL FROM / RCPT TO (or headers). Non-ASCII (SMTPUTF8) is allowed.
const ADDRESS = /^[^\x00-\x20\x7f<>@]+@[^\x00-\x20\x7f<>@]+$/;

export const isSendableAddress = (address: string): boolean => ADDRESS.test(address);
