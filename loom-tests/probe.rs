use async_patterns::sync::{Mutex, RwLock};

#[test]
fn probe_mutex_deref() {
    loom::model(|| {
        let m = Mutex::new(0usize);
        let mut g = m.try_lock().unwrap();
        *g += 1;
    });
}

#[test]
fn probe_read_deref() {
    loom::model(|| {
        let l = RwLock::new(0usize);
        let g = l.try_read().unwrap();
        assert_eq!(*g, 0);
    });
}
