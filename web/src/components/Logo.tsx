/** The Seqflare mark: three stepped bars (a sequence) rising into a flare. */
export function LogoMark(props: { size?: number }) {
  const s = () => props.size ?? 28;
  return (
    <svg class="logo-mark" width={s()} height={s()} viewBox="0 0 32 32" aria-hidden="true">
      <defs>
        <linearGradient id="sf-grad" x1="0" y1="32" x2="32" y2="0" gradientUnits="userSpaceOnUse">
          <stop offset="0" stop-color="#4338ca" />
          <stop offset="1" stop-color="#7c3aed" />
        </linearGradient>
      </defs>
      <rect width="32" height="32" rx="8" fill="url(#sf-grad)" />
      <rect x="7" y="19" width="4" height="6" rx="1.5" fill="#fff" opacity="0.6" />
      <rect x="14" y="14" width="4" height="11" rx="1.5" fill="#fff" opacity="0.8" />
      <path d="M21 25V10.5a1.5 1.5 0 0 1 1.5-1.5h0A1.5 1.5 0 0 1 24 10.5V25z" fill="#fff" />
      <circle cx="22.5" cy="6" r="2" fill="#fde68a" />
    </svg>
  );
}

export function Logo() {
  return (
    <span class="logo">
      <LogoMark />
      <span class="logo-word">Seqflare</span>
    </span>
  );
}
