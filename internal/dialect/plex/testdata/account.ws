{"NotificationContainer":{"type":"account","size":1,"AccountUpdateNotification":[{}]}}
