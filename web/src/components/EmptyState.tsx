import { For, type JSX } from "solid-js";
import { Icon, type IconName } from "./Icon";

import "./EmptyState.css";
/** The panel shown where a list has nothing in it yet: what goes here, and how it gets here. */
export function EmptyState(props: {
  icon: IconName;
  title: string;
  children: JSX.Element;
  points?: { icon: IconName; title: string; text: string }[];
  actions?: JSX.Element;
}) {
  return (
    <section class="empty-state" aria-labelledby="empty-title">
      <div class="empty-icon" aria-hidden="true">
        <Icon name={props.icon} size={26} />
      </div>
      <h2 id="empty-title" class="empty-title">
        {props.title}
      </h2>
      <p class="empty-text">{props.children}</p>
      {props.actions && <div class="empty-actions">{props.actions}</div>}
      {props.points && (
        <ul class="empty-points">
          <For each={props.points}>
            {(p) => (
              <li>
                <span class="empty-point-icon" aria-hidden="true">
                  <Icon name={p.icon} size={16} />
                </span>
                <div>
                  <strong>{p.title}</strong>
                  <span>{p.text}</span>
                </div>
              </li>
            )}
          </For>
        </ul>
      )}
    </section>
  );
}
