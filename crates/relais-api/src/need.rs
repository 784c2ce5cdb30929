//! What each route needs of the key that calls it, declared once — where
//! the route is declared, in its resource's router — then checked before
//! its handler runs and read by the OpenAPI document ([`declared`]).
//! Handlers check only what depends on the request itself (a field asked,
//! an absence account, former employees).

use crate::error::ApiError;
use crate::AppState;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::routing::MethodRouter;
use axum::Router;
use relais_core::access::{Permission, Role};
use std::borrow::Cow;

/// What a route needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any live key.
    AnyKey,
    /// The key an installed app was given (the route answers about that
    /// app's own integration).
    AppKey,
    /// A grant giving this permission.
    Grant(Permission),
    /// A grant giving either permission.
    Either(Permission, Permission),
}

impl Need {
    /// The need as the API's documentation says it.
    pub fn describe(self) -> String {
        match self {
            Need::AnyKey => "any key".to_owned(),
            Need::AppKey => "the app's own key".to_owned(),
            Need::Grant(p) => p.code().to_owned(),
            Need::Either(a, b) => format!("{} or {}", a.code(), b.code()),
        }
    }

    /// Refuses a role that does not meet the need (an app's key is checked
    /// by its handler, which looks its installation up).
    pub fn check(self, role: &Role) -> Result<(), ApiError> {
        match self {
            Need::AnyKey | Need::AppKey => Ok(()),
            Need::Grant(p) => role.require(p).map_err(ApiError::Forbidden),
            Need::Either(a, b) if role.has(a) || role.has(b) => Ok(()),
            Need::Either(a, _) => Err(ApiError::Forbidden(a)),
        }
    }
}

/// One route and method, and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// `get`, `post`, `put`…, as the OpenAPI document spells methods.
    pub method: &'static str,
    /// The path, as the router matches it.
    pub path: Cow<'static, str>,
    /// What it needs.
    pub need: Need,
}

/// A resource's routes, each with its need: builds the router and the
/// list of declarations together, so that neither can leave one out.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    declared: Vec<Declared>,
}

impl Routes {
    /// No routes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `method` of `path`, served by `route`, needing `need`.
    pub fn add(
        mut self,
        method: &'static str,
        path: impl Into<Cow<'static, str>>,
        need: Need,
        route: MethodRouter<AppState>,
    ) -> Self {
        let checked = route.route_layer(axum::middleware::from_fn(
            move |request: Request, next: Next| async move {
                let allowed = crate::auth::Caller::of(request.extensions())
                    .and_then(|caller| need.check(caller.role()));
                match allowed {
                    Ok(()) => next.run(request).await,
                    Err(e) => e.into_response(),
                }
            },
        ));
        let path = path.into();
        self.router = self.router.route(&path, checked);
        self.declared.push(Declared { method, path, need });
        self
    }

    /// `GET path`.
    pub fn get<H, T>(self, path: &'static str, need: Need, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        self.add("get", path, need, axum::routing::get(handler))
    }

    /// `POST path`.
    pub fn post<H, T>(self, path: &'static str, need: Need, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        self.add("post", path, need, axum::routing::post(handler))
    }

    /// `PUT path`.
    pub fn put<H, T>(self, path: &'static str, need: Need, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        self.add("put", path, need, axum::routing::put(handler))
    }

    /// `DELETE path`.
    pub fn delete<H, T>(self, path: &'static str, need: Need, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        self.add("delete", path, need, axum::routing::delete(handler))
    }

    /// Both sets of routes.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.declared.extend(other.declared);
        self
    }

    /// The router, its needs checked.
    pub fn into_router(self) -> Router<AppState> {
        self.router
    }

    /// What the routes need.
    pub fn declared(&self) -> &[Declared] {
        &self.declared
    }
}

/// What `method` of `path` needs, if `declared` holds it: the route of
/// that very path, else the route whose `{parameter}` segments match it
/// (`/api/v3/leaveRequests/{id}/approve` is served by
/// `/api/v3/leaveRequests/{id}/{action}`).
pub fn find(declared: &[Declared], method: &str, path: &str) -> Option<Need> {
    let fits = |route: &str| {
        let (mut a, mut b) = (route.split('/'), path.split('/'));
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (Some(r), Some(p)) if r == p || r.starts_with('{') => {}
                _ => return false,
            }
        }
    };
    let routes = declared.iter().filter(|d| d.method == method);
    routes
        .clone()
        .find(|d| d.path == path)
        .or_else(|| routes.clone().find(|d| fits(&d.path)))
        .map(|d| d.need)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_need_refuses_what_it_does_not_hold() {
        let organisation = Role::parse(&["organisation"]).unwrap();
        assert!(Need::AnyKey.check(&organisation).is_ok());
        assert!(Need::Grant(Permission::Organisation)
            .check(&organisation)
            .is_ok());
        assert!(Need::Grant(Permission::Expenses)
            .check(&organisation)
            .is_err());
        let requests = Role::parse(&["absence-requests"]).unwrap();
        let reading = Need::Either(Permission::Absences, Permission::AbsenceRequests);
        assert!(reading.check(&requests).is_ok());
        assert!(reading.check(&organisation).is_err());
        assert_eq!(reading.describe(), "absences or absence-requests");
    }
}
