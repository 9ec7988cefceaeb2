import { A } from "@solidjs/router";
import type { JSX } from "solid-js";
import { Icon } from "./Icon";
import "./BackLink.css";

/** The way back above a page's title ("← Workflows"), in a breadcrumb landmark. */
export function BackLink(props: { href: string; children: JSX.Element }) {
  return (
    <nav aria-label="Breadcrumb" class="breadcrumb">
      <A href={props.href}>
        <Icon name="arrowLeft" size={14} /> {props.children}
      </A>
    </nav>
  );
}
