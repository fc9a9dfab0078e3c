import { Link } from 'wouter';

/** Any path the console does not have. */
export function NotFoundPage() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        The console has no page here. <Link href="/">Go to the overview</Link>.
      </p>
    </section>
  );
}
