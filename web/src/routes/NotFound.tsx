import { A } from "@solidjs/router";
import { EmptyState } from "../components/EmptyState";
import { usePageTitle } from "../title";

export default function NotFound() {
  usePageTitle("Page not found");
  return (
    <div class="page">
      <EmptyState
        icon="search"
        title="This page doesn't exist"
        actions={
          <A href="/sequences" class="btn btn-primary">
            Go to Sequences
          </A>
        }
      >
        The link may be old, or the page may have moved.
      </EmptyState>
    </div>
  );
}
