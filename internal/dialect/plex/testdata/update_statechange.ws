{"NotificationContainer":{"type":"update.statechange","size":1,"AutoUpdateNotification":[{"key":"","version":"1.41.1.9057","state":"available"}]}}
