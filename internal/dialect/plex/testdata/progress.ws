{"NotificationContainer":{"type":"progress","size":1,"ProgressNotification":[{"message":"Optimizing database"}]}}
