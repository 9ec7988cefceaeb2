import { Navigate, Route, Router, useLocation, useNavigate, type RouteSectionProps } from "@solidjs/router";
import { render } from "solid-js/web";
// Tokens and the app-wide base first: each component's own stylesheet (imported by it) comes after them and wins ties.
import "./tokens.css";
import "./styles.css";
import { setUnauthenticatedHandler } from "./api";
import { AppShell } from "./components/AppShell";
import AddContacts from "./routes/AddContacts";
import Contacts from "./routes/Contacts";
import People from "./routes/People";
import ContactPage from "./routes/ContactPage";
import Credits from "./routes/Credits";
import Home from "./routes/Home";
import Imports from "./routes/Imports";
import Lists from "./routes/Lists";
import EmailTemplates from "./routes/EmailTemplates";
import Login from "./routes/Login";
import Invite from "./routes/Invite";
import ResetPassword from "./routes/ResetPassword";
import JobPage from "./routes/JobPage";
import Mailboxes from "./routes/Mailboxes";
import NotFound from "./routes/NotFound";
import Outbox from "./routes/Outbox";
import Replies from "./routes/Replies";
import SequenceEditor from "./routes/SequenceEditor";
import Sequences from "./routes/Sequences";
import Settings from "./routes/Settings";
import Tasks from "./routes/Tasks";
import TeamReport from "./routes/TeamReport";
import Workflows from "./routes/Workflows";
import WorkflowEditor from "./routes/workflows/WorkflowEditor";
import WorkflowPage from "./routes/workflows/WorkflowPage";

/** Router root: sends any 401 to /login, remembering where the user was. */
function Root(props: RouteSectionProps) {
  const navigate = useNavigate();
  const location = useLocation();
  setUnauthenticatedHandler(() => {
    if (location.pathname === "/login" || location.pathname.startsWith("/invite/") || location.pathname.startsWith("/reset-password/"))
      return;
    const next = location.pathname + location.search;
    navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
  });
  return <>{props.children}</>;
}

render(
  () => (
    <Router root={Root}>
      <Route path="/login" component={Login} />
      <Route path="/invite/:token" component={Invite} />
      <Route path="/reset-password/:token" component={ResetPassword} />
      <Route path="/" component={AppShell}>
        <Route path="/" component={Home} />
        <Route path="/sequences" component={Sequences} />
        <Route path="/sequences/:id" component={SequenceEditor} />
        <Route path="/sequences/:id/add" component={AddContacts} />
        <Route path="/templates" component={EmailTemplates} />
        <Route path="/jobs/:id" component={JobPage} />
        <Route path="/tasks" component={Tasks} />
        <Route path="/people" component={People} />
        <Route path="/contacts" component={Contacts} />
        <Route path="/contacts/:id" component={ContactPage} />
        <Route path="/lists" component={Lists} />
        <Route path="/imports" component={Imports} />
        <Route path="/mailboxes" component={Mailboxes} />
        <Route path="/outbox" component={Outbox} />
        <Route path="/replies" component={Replies} />
        <Route path="/workflows" component={Workflows} />
        <Route path="/workflows/new" component={WorkflowEditor} />
        <Route path="/workflows/:id" component={WorkflowPage} />
        <Route path="/workflows/:id/edit" component={WorkflowEditor} />
        <Route path="/reports" component={TeamReport} />
        <Route path="/credits" component={Credits} />
        <Route path="/settings" component={Settings} />
        <Route path="/schedules" component={() => <Navigate href="/settings?tab=schedules" />} />
        <Route path="*404" component={NotFound} />
      </Route>
    </Router>
  ),
  document.getElementById("root")!,
);
